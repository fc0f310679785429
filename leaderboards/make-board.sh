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

# 2. ConDiff cubic0.1, 32². Three doublings (up to 400 epochs): with two, dilresnet ended
# "not converged at the last rung" (its check at 400 epochs still improved validation 7.7 %
# over 200); the other rows had converged below the cap, so the third only reaches it.
opbench converge --models "$grid_models" --datasets condiff:cubic0.1_grid32 "${condiff[@]}" \
    --test-config condiff:cubic0.4_grid32,condiff:gaussian0.1_grid32 --max-doublings 3 \
    "${common[@]}"

# 3. CFDBench-style cavity/bc: 100 generated cases (80 train / 10 val / 10 test) on a 32²
# frame grid, 21 frames each (0–2 s, the 20-step rollout from frame 0 spans the case):
# 1521 training pairs, 1.7 times a ConDiff epoch. Pilots of 5 epochs; 40 epochs is the
# shortest budget whose plateau window lies inside the last quarter at lr₀/100. Two
# doublings (E ≤ 160): every network's check still improved validation by 26–82 % per
# doubling up to 320 epochs, so a third (a 640-epoch check each, ~2.8 h) would not have
# ranked a row either (leaderboards/README.md, table 3).
opbench converge --models fno,unet,dilresnet,deeponet,multionet,lsm:small32,scot,identity,mean \
    --datasets cfdbench:cavity/bc@32 --set data.n_cases=100 --set data.frames=21 \
    --pilot-epochs 5 --start-epochs 40 --equal-accuracy "${common[@]}"

# 4. AirfRANS-style full: 100 generated simulations (90 train / 10 val) and 25 test, at
# the generator's 13 000 nodes each (the published set's 800 / 200 of ~180k nodes do not
# fit this machine's budget; the caption says so). pointwise_linear, the fitted baseline
# (seconds), sets the floor: the freestream and what is linear in a node's features.
# Estimate: ~46 s per epoch of all five networks on an idle machine (~88 s under load),
# 1.4–2.6 h if every network passes its first doubling check at 40 epochs. Measured: 5.9 h
# (597 min of one worker): every network climbed to 160 epochs and failed its check at 320.
opbench converge --models deeponet,multionet,fno_points,mlp,pointnet,pointwise_linear \
    --datasets airfrans:full --set data.n_train=100 --set data.n_test=25 \
    --pilot-epochs 5 --start-epochs 40 "${common[@]}"

# 5. ConDiff Poisson: one seed, unranked (linear is exact there), at 32² like tables 1–2;
# then FNO alone at the published 64², beside the independent neuraloperator script's
# test rel_l2 of about 0.12 after 60 epochs. Estimate: ~1.1 h, then ~1.2 h for FNO at 64².
# Measured: 378 min of one worker for the 32² table (dilresnet, fno and scot climbed to 200
# epochs, with checks at 400); FNO at 64² climbed to its last rung, 240 epochs, not
# converged (validation still 1.5 % lower over its plateau window), and its check at 480
# ended 43 % worse on validation: 675 min of one worker (27–61 s per epoch sharing the two
# cores, 16.5 s alone on both threads).
opbench converge --models "$grid_models" --datasets condiff:poisson_grid32 "${condiff[@]}" \
    --seeds 0 "${common[@]}"
opbench converge --models fno --datasets condiff:poisson_grid64 "${condiff[@]}" \
    --seeds 0 --start-epochs 60 "${common[@]}"
