"""The report: one typed model of a run and its comparison with a baseline, and
every output made from it.

The path a result takes, downward only:

    build (a run → Report)   reading (file or git:REF → Report, via codec)
                \\                /
             compare (baseline | None, head → Comparison; explain says why it grew)
                        |
        terminal · markdown · json_output · junit   (each renders one Comparison)

- model: the records (Report, TargetRecord, Figures, FileList, SmokeRecord,
  Comparison, TargetComparison, Explanation and its changes) and the State/Change
  enums. Imports no other module of this package.
- wording: sizes, deltas, budgets and growth sentences shared by every output.
- build / codec / reading: into the model, from a run or from JSON.
- compare / explain: the baseline's side; `compare(None, head)` without one.
- terminal, markdown, json_output, junit: the outputs; each imports only model and
  wording (json_output the codec, whose form it prints), never another output.

Below this package: pipeline (a run's TargetResults), judge (Status, Verdict),
measure (Layer, FileInfo), gitrepo (Checkout); none of them imports it.

Nothing is imported here, so that importing one module loads only what it needs."""
