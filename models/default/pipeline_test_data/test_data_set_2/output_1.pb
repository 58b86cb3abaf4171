
BprobabilitiesJ(Äbº=²¾Æ=NÄ<=Œ=W*>Ò”_=Ü6=fô> œ=2X>