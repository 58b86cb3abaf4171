
BprobabilitiesJ(Äb€8ü‡…8ÿİ?¨“…8äKY8ØQa8!e8*68“TŠ8/t~8