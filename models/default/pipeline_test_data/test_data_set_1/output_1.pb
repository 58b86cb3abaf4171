
BprobabilitiesJ(IÞŒ8Mºk8G°w8ìØ?Ü–‹8PUƒ81g8”ˆ8¶Ø»8-Ãœ8