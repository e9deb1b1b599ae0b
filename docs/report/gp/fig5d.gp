set terminal pngcairo size 800,520 enhanced font "DejaVu Sans,11" linewidth 1.5
set output "fig5d.png"
set datafile separator ","
set datafile columnheaders
set grid lc rgb "#dddddd"
set key noenhanced
set title "Fig. 5d: operations per image against parallelism (192-256-256-10)"
set xlabel "parallelism p (rows driven at once)"
set ylabel "operations per image"
set logscale xy
set xtics (1, 2, 4, 8, 16, 32, 64)
set xrange [0.8:80]
set key top right
plot "fig5c.csv" using 1:(column("array_ops")) with linespoints pt 7 title "array operations", \
  '' using 1:(column("adds")) with linespoints pt 5 title "digital additions", \
  '' using 1:(column("conversions")) with linespoints pt 9 title "ADC conversions", \
  "+" using (1):(62000) every ::0::0 with points pt 6 ps 2 lc rgb "black" title "paper, p = 1 and 16", \
  "+" using (16):(3600) every ::0::0 with points pt 6 ps 2 lc rgb "black" notitle
