"""Where a review's inputs come from: the one git module, the changed prompt files, the config, the paths
it names (kept inside the repository), prompt files, schemas and suites. Nothing here calls a model."""
