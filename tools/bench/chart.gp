# SPDX-License-Identifier: GPL-2.0
# The chart of `make bench`: packets/s and sandbox attach latency, each
# beside its baselines. gnuplot -e "outdir='DIR'" chart.gp reads
# DIR/pps.dat ("label" packets/s packets-per-CPU-second) and
# DIR/attach.dat ("label" p50 p99, in us) and writes DIR/performance.png.
set terminal pngcairo size 1440,600 font "DejaVu Sans,11" noenhanced
set output outdir."/performance.png"
set multiplot layout 1,2 title "sharenat beside its baselines (one run, one machine)" font ",14"

set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set grid ytics lc rgb "#dddddd"
set xtics nomirror scale 0
set ytics nomirror
set bmargin 5
set key top right Left reverse

set title "64-byte UDP, 1024 flows, sandbox -> customer"
set ylabel "millions of packets"
set yrange [0:*]
set offsets 0, 0, graph 0.3, 0
set format y "%.1f"
plot outdir."/pps.dat" using ($2/1e6):xtic(1) title "packets/s at the receiver" lc rgb "#2a7ab0", \
     '' using ($3/1e6) title "packets per CPU-second (whole path)" lc rgb "#8cc0e0", \
     '' using ($0 - 0.17):($2/1e6):(sprintf("%.2f", $2/1e6)) with labels font ",9" offset 0,0.7 notitle, \
     '' using ($0 + 0.17):($3/1e6):(sprintf("%.2f", $3/1e6)) with labels font ",9" offset 0,0.7 notitle

set title "sandbox attach latency (log scale)"
set ylabel "microseconds"
set offsets 0, 0, 0, 0
set logscale y
set yrange [1:*]
set format y "%g"
plot outdir."/attach.dat" using 2:xtic(1) title "p50" lc rgb "#2a7ab0", \
     '' using 3 title "p99" lc rgb "#e08a1e", \
     '' using ($0 - 0.17):2:(sprintf("%.0f", $2)) with labels offset 0,0.7 notitle, \
     '' using ($0 + 0.17):3:(sprintf("%.0f", $3)) with labels offset 0,0.7 notitle
unset multiplot
