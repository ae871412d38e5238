"""Gates: the multiplicity corrections across the review, each gate's decision and each prompt's verdict
(`decision`), the smallest change the sample can detect (`power`), and the absolute ceilings of a prompt with
no base (`ceilings`)."""
