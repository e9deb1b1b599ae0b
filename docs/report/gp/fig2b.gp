set terminal pngcairo size 900,520 enhanced font "DejaVu Sans,11" linewidth 1.5
set output "fig2b.png"
set datafile separator ","
set datafile columnheaders
set grid lc rgb "#dddddd"
set key noenhanced
set title "Fig. 2b: the m sweep (two tasks of 5-split-FashionMNIST, 20 epochs each, seed 1)"
set xlabel "memory coefficient m"
set ylabel "test accuracy after task 2 (%)"
set y2label "binary weights switched while task 2 is learnt (%)"
set yrange [40:100]
set y2range [0.01:100]
set logscale y2
set ytics nomirror
set y2tics
set key bottom center
set style data linespoints
plot "fig2b.csv" using 0:4:xtic(1) pt 7 title "task 1", \
  '' using 0:5 pt 7 title "task 2", \
  '' using 0:6 pt 7 lw 2.5 title "two-task average", \
  '' using 0:($2 > 0 ? $2 : 0.01) axes x1y2 pt 5 dt 2 title "switch rate (right axis)", \
  '' using 0:($3 > 0 ? $3 : 0.01) axes x1y2 pt 4 dt 3 title "flipped at least once (right axis)"
