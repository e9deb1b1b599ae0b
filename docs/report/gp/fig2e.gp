set terminal pngcairo size 1120,480 enhanced font "DejaVu Sans,11" linewidth 1.5
set output "fig2e.png"
set datafile separator ","
set datafile columnheaders
set grid lc rgb "#dddddd"
set key noenhanced
set multiplot layout 1,2 title "Fig. 2e: accuracy under conductance noise (task-IL; 5 draws a point; dashed: the 90% level of the noise tolerance)"
set xlabel "conductance noise rho (% of the LRS-HRS window)"
set ylabel "multitask average accuracy (%)"
set yrange [40:100]
set xrange [0:100]
set key bottom left
set title "5-split-MNIST"
plot 90 with lines dt 2 lc rgb "black" notitle, \
  "fig2e_mnist.csv" using 1:2 with linespoints pt 7 ps 0.6 lc rgb "#000000" lw 2.5 title "MPCL", \
  "fig2e_mnist.csv" using 1:4 with linespoints pt 7 ps 0.6 lc rgb "#999999" lw 1.5 title "None", \
  "fig2e_mnist.csv" using 1:6 with linespoints pt 7 ps 0.6 lc rgb "#56b4e9" lw 1.5 title "Joint", \
  "fig2e_mnist.csv" using 1:8 with linespoints pt 7 ps 0.6 lc rgb "#e69f00" lw 1.5 title "EWC", \
  "fig2e_mnist.csv" using 1:10 with linespoints pt 7 ps 0.6 lc rgb "#009e73" lw 1.5 title "SI", \
  "fig2e_mnist.csv" using 1:12 with linespoints pt 7 ps 0.6 lc rgb "#0072b2" lw 1.5 title "GEM", \
  "fig2e_mnist.csv" using 1:14 with linespoints pt 7 ps 0.6 lc rgb "#d55e00" lw 1.5 title "A-GEM"
set title "5-split-FashionMNIST"
plot 90 with lines dt 2 lc rgb "black" notitle, \
  "fig2e_fmnist.csv" using 1:2 with linespoints pt 7 ps 0.6 lc rgb "#000000" lw 2.5 title "MPCL", \
  "fig2e_fmnist.csv" using 1:4 with linespoints pt 7 ps 0.6 lc rgb "#999999" lw 1.5 title "None", \
  "fig2e_fmnist.csv" using 1:6 with linespoints pt 7 ps 0.6 lc rgb "#56b4e9" lw 1.5 title "Joint", \
  "fig2e_fmnist.csv" using 1:8 with linespoints pt 7 ps 0.6 lc rgb "#e69f00" lw 1.5 title "EWC", \
  "fig2e_fmnist.csv" using 1:10 with linespoints pt 7 ps 0.6 lc rgb "#009e73" lw 1.5 title "SI", \
  "fig2e_fmnist.csv" using 1:12 with linespoints pt 7 ps 0.6 lc rgb "#0072b2" lw 1.5 title "GEM", \
  "fig2e_fmnist.csv" using 1:14 with linespoints pt 7 ps 0.6 lc rgb "#d55e00" lw 1.5 title "A-GEM"
unset multiplot
