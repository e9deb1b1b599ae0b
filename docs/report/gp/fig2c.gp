set terminal pngcairo size 1100,520 enhanced font "DejaVu Sans,11" linewidth 1.5
set output "fig2c.png"
set datafile separator ","
set datafile columnheaders
set grid lc rgb "#dddddd"
set key noenhanced
set multiplot layout 1,2 title "Fig. 2c: confusion matrices after five tasks of 5-split-FashionMNIST (task-IL, share of each true class, %)"
set xlabel "predicted class"
set ylabel "true class"
set xrange [-0.5:9.5]
set yrange [9.5:-0.5]
set xtics 1
set ytics 1
set cbrange [0:100]
set cblabel "% of the true class"
set palette defined (0 "#ffffff", 10 "#c6dbef", 50 "#4292c6", 100 "#08306b")
unset grid
set title "m = 0 (average 81.21%)"
plot "fig2c_m0.csv" using 2:1:4 with image notitle, '' using 2:1:($3 > 0 ? sprintf("%d", $3) : "") with labels font ",8" notitle
set title "m = 0.005, the best of the sweep (average 98.69%)"
plot "fig2c_best.csv" using 2:1:4 with image notitle, '' using 2:1:($3 > 0 ? sprintf("%d", $3) : "") with labels font ",8" notitle
unset multiplot
