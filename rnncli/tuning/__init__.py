"""Use case: `rnncli tune`, a search of `train`'s settings on validation, then the best trained.

- `limits`: the budget and trial count; `space`: what is searched, per architecture family;
- `storage`: the study's journal file or database, and trials orphaned by a killed process;
- `search`: the loop of trials (Optuna's sampler and pruner, `training.trial` for each);
- `records`: the study's files (trials.jsonl, trials.txt, chart.txt, best.json);
- `best`: the best settings trained and tested once as an ordinary run;
- `events`: what the loop reports, and what it returns.

Optuna is an optional extra (`pip install 'rnncli[tune]'`), imported only here.
"""
