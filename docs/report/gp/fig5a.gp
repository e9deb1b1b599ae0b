set terminal pngcairo size 1200,540 enhanced font "DejaVu Sans,11" linewidth 1.5
set output "fig5a.png"
set datafile separator ","
set datafile columnheaders
set grid lc rgb "#dddddd"
set key noenhanced
set multiplot layout 1,2 title "Fig. 5a: the programmed array (5-split-FashionMNIST net after in situ fine-tuning, simulated chip id 42)"
unset grid
set title "G+ - G- of each differential pair (uS)"
set xlabel "column (output)"
set ylabel "row (input)"
set xrange [-0.5:511.5]
set yrange [511.5:-0.5]
set size ratio -1
set cblabel "G+ - G- (uS)"
set palette defined (-1 "#2166ac", 0 "#f7f7f7", 1 "#b2182b")
set cbrange [-40:40]
set datafile nocolumnheaders
plot "fig5a_map.csv" matrix with image notitle
set datafile columnheaders
set size noratio
set autoscale
set title "resistance of the programmed cells (mapping accuracy 99.69% after fine-tuning)"
set xlabel "resistance (kOhm)"
set ylabel "cells"
set logscale x
set logscale y
set xrange [5:5000]
set yrange [0.8:1e6]
set grid
set key top right
set style fill transparent solid 0.5 border
plot "fig5a_hist.csv" using 3:($4 > 0 ? $4 : 1/0):1:2:(0.8):4 with boxxyerror lc rgb "#b2182b" title "LRS (the cell meant to conduct)", \
  '' using 3:($5 > 0 ? $5 : 1/0):1:2:(0.8):5 with boxxyerror lc rgb "#2166ac" title "HRS (the other cell)"
unset multiplot
