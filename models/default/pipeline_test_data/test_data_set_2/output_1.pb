
BprobabilitiesJ(’$q=óÄ—>Ì5=ôÈ–=Â">ÿì•=©êÅ=NàQ=›¼U=D¿Ø=