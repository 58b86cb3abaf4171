
BprobabilitiesJ(j‚8ζε…8έ?―“…8ύ\8gIe8{-j8Ε¥98Ήj‹88€8