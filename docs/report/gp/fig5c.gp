set terminal pngcairo size 1000,600 enhanced font "DejaVu Sans,11" linewidth 1.5
set output "fig5c.png"
set datafile separator ","
set datafile columnheaders
set grid lc rgb "#dddddd"
set key noenhanced
set title "Fig. 5c: chip accuracy against parallelism p (task-IL, simulated chip id 42)\nthe paper's board (default), the ideal chip and a worn one (10% stuck cells, 25% device spread, 5% read noise)"
set xlabel "parallelism p (rows driven at once)"
set ylabel "multitask average accuracy on the chip (%)"
set logscale x 2
set xtics (1, 2, 4, 8, 16, 32, 64)
set xrange [0.8:80]
set key below maxrows 4 width -4
plot "fig5c.csv" using 1:2 with linespoints pt 6 dt 2 lc rgb "#5e3c99" title "5-split-MNIST, before fine-tuning", \
  '' using 1:3 with linespoints pt 7 lc rgb "#5e3c99" title "5-split-MNIST, after fine-tuning at p = 16", \
  '' using 1:4 with linespoints pt 6 dt 2 lc rgb "#e66101" title "5-split-FashionMNIST, before fine-tuning", \
  '' using 1:5 with linespoints pt 7 lc rgb "#e66101" title "5-split-FashionMNIST, after fine-tuning at p = 16", \
  '' using 1:6 with linespoints pt 4 dt 2 lc rgb "#1a9850" title "ideal chip (5-split-FashionMNIST), before", \
  '' using 1:7 with linespoints pt 5 lc rgb "#1a9850" title "ideal chip, after", \
  '' using 1:8 with linespoints pt 4 dt 2 lc rgb "#b2182b" title "worn chip (5-split-FashionMNIST), before", \
  '' using 1:9 with linespoints pt 5 lc rgb "#b2182b" title "worn chip, after"
