"""The review engine: plan, run, score, analyse, decide, and the report built from them (`review` composes
them). It never prints, exits, runs a subprocess itself or talks to GitHub; `sources` reads its inputs."""
