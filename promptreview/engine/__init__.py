"""The review engine, one subpackage per stage, in the order the data flows:

`planning` (what will be sent, checked before any call) → `execution` (the calls, cached) → `measurement`
(one outcome per completion, the rates, flips, shifts and examples) → `quality` (expectations, evaluators,
judges) → `gates` (multiplicity, each gate's decision, the verdicts). At the top, `review` composes the
stages, `sequential` runs a compared prompt in batches and stops once the verdict is settled, and `assemble`
builds the one `Report`. `jobs` holds the records the stages hand each other; a stage imports only earlier
stages and `jobs`. The engine never prints, exits, runs a subprocess itself or talks to GitHub; `sources`
reads its inputs."""
