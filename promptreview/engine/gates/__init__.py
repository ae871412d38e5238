"""Gates: the multiplicity corrections across the review, each gate's decision, each prompt's verdict and
the smallest change its sample can detect (`decision`), and the absolute ceilings of a prompt with no base
(`ceilings`)."""
