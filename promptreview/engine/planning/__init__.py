"""Planning: what a review will send before any call. Each prompt's sides (template, model, parameters,
schema, output mode), the sampled inputs and one planned call per input, sample and side (`plan`); what must
hold before the first call (`policy`); and what a review would run and cost (`forecast`, `--plan`)."""
