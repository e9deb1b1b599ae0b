set terminal pngcairo size 900,520 enhanced font "DejaVu Sans,11" linewidth 1.5
set output "fig5b.png"
set datafile separator ","
set datafile columnheaders
set grid lc rgb "#dddddd"
set key noenhanced
set title "Fig. 5b: LRS conductance over 10000 reads of 4 cells, every 50th read drawn\n(legend: each cell's max deviation (Gmax - Gmin) / Gmean over all reads)"
set xlabel "read"
set ylabel "conductance (uS)"
set key outside right
plot "fig5b.csv" using 1:2 with lines title "cell 1: 9.2%", \
  '' using 1:3 with lines title "cell 2: 9.6%", \
  '' using 1:4 with lines title "cell 3: 8.9%", \
  '' using 1:5 with lines title "cell 4: 9.5%"
