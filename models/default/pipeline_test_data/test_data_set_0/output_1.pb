
BprobabilitiesJ(Ìb€8ˆ…8ÿİ?±“…8ñKY8æQa8!e8˜*68œTŠ8?t~8