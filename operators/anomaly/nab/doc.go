// Package nab loads the Numenta Anomaly Benchmark corpus and scores anomaly
// detectors with NAB's standard profile, written from NAB's published rules
// (Lavin & Ahmad, "Evaluating Real-time Anomaly Detection Algorithms – the
// Numenta Anomaly Benchmark", ICMLA 2015, and the NAB documentation).
//
// The rules as implemented (standard profile: A_TP = 1, A_FP = -0.11,
// A_FN = -1, probation 15%):
//
//   - Rows. Each series is a list of rows; a row whose anomaly score is
//     >= the threshold is a detection.
//   - Probation. The first P = min(floor(0.15·n), 0.15·5000) rows of a series
//     of n rows are not scored at all: detections there count for nothing and
//     a window entirely inside the probation is neither credited nor missed.
//     (NAB caps the probation at 750 rows so that long series are not
//     mostly probation.)
//   - Windows. The labelled windows [start, end] are inclusive and given by
//     timestamp; their width w counts rows (end − start + 1).
//   - Scaled sigmoid. σ(y) = 2/(1+e^{5y}) − 1, and σ(y) = −1 for y > 3.
//   - True positive. Row i inside a window ending at row e has relative
//     position y = −(e − i + 1)/w (−1 at the first row of the window, −1/w at
//     the last). Only the earliest detection in a window counts, and it earns
//     A_TP·σ(y)/σ(−1): exactly 1 at the window start, decaying towards 0 at
//     its end. Later detections in the same window earn nothing.
//   - False negative. A scored window with no detection costs A_FN = −1.
//   - False positive. A detection outside every window costs
//     |A_FP|·σ(y) with y = (i − e_prev)/(w_prev − 1) measured from the end
//     e_prev of the previous window (width w_prev): almost free right after a
//     window, tending to −0.11 further away (−0.11 beyond 3 window widths).
//     A detection before the first window of a series costs the full −0.11.
//   - Series and corpus. The raw score of a detector is the sum over series
//     at one threshold; the threshold is chosen to maximise that corpus-wide
//     raw score, searching every distinct anomaly score of the scored rows
//     (and "no detection at all").
//   - Normalisation. The null detector (no detections) scores
//     A_FN·windows; the perfect detector (a detection at every window start,
//     nothing else) scores A_TP·windows. The reported score is
//     100·(raw − null)/(perfect − null).
package nab

// Verification: scoring KDA's published RANDOM_CUT_FOREST output (the 24
// series under results/randomCutForest) reproduces, series by series, the
// sum of the S(t)_standard column NAB wrote next to it (TestKDAPublishedScores).
