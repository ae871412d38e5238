"""Gates: the multiplicity corrections across the review, each gate's decision and each prompt's verdict
and the smallest change the sample can detect (`decision`), and the absolute ceilings of a prompt with
no base (`ceilings`)."""
