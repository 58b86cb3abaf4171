
BprobabilitiesJ(º ¶8-ì­84¤Ÿ8{Ë?òY±8åŞÌ8L»8°Â8gCÏ8æÁ8