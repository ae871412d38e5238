"""Measurement: one outcome per completion (`outcomes`), the completion DataFrame (`frame`), and from it each
prompt's numbers (`analysis`): rates and paired changes, flips against the noise floor, strata, the output
distribution (`distribution`, `text_features`) and the examples a reviewer reads first (`examples`)."""
