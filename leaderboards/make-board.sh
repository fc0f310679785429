#!/usr/bin/env bash
# The commands that make the published board, table by table, in the order of
# leaderboards/README.md. Each `opbench converge` skips every run already in
# leaderboards/records (committed records count) and resumes interrupted runs under
# runs/board/, so a fresh clone re-runs this script to go on where the last session
# stopped. Run it in the background from the repository root:
#
#     nohup bash leaderboards/make-board.sh > board.log 2>&1 &
#
# then commit leaderboards/ (records and the regenerated tables) before stopping:
#
#     opbench leaderboard && git add leaderboards && git commit -m "board: finished runs"
#
# Every table is finished before the next starts.
set -euo pipefail
cd "$(dirname "$0")/.."

common=(--root leaderboards --out runs/board --workers 2)
condiff=(--set data.n_train=1000 --set data.n_test=200 --equal-accuracy)
grid_models=fno,unet,dilresnet,deeponet,multionet,lsm:small32,spectral,scot,mean,linear

# 1. ConDiff at the highest published contrast, 32² (leaderboards/README.md says why).
opbench converge --models "$grid_models" --datasets condiff:cubic2.0_grid32 "${condiff[@]}" \
    --test-config condiff:cubic1.0_grid32,condiff:exponential2.0_grid32 "${common[@]}"

# 2. ConDiff cubic0.1, 32².
opbench converge --models "$grid_models" --datasets condiff:cubic0.1_grid32 "${condiff[@]}" \
    --test-config condiff:cubic0.4_grid32,condiff:gaussian0.1_grid32 "${common[@]}"

# 3.–5. CFDBench-style cavity/bc (at least 100 cases), AirfRANS-style full, and ConDiff
# Poisson (one seed, unranked) follow once their seconds per epoch are measured: a cavity
# epoch at 64² with 100 cases holds 80 × 40 frame pairs, 3.6 times a ConDiff epoch.
