"""Quality checks: which checks apply to a prompt and each completion's value under them (`checks`), the pinned
LLM judges (`judges`), and each check's rates or scores with the paired change (`results`)."""
