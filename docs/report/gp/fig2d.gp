set terminal pngcairo size 1120,480 enhanced font "DejaVu Sans,11" linewidth 1.5
set output "fig2d.png"
set datafile separator ","
set datafile columnheaders
set grid lc rgb "#dddddd"
set key noenhanced
set multiplot layout 1,2 title "Fig. 2d: multitask average accuracy as tasks are learnt (task-IL, test sets; mean of 3 seed(s))"
set xlabel "tasks learnt"
set ylabel "multitask average accuracy (%)"
set xtics 1
set xrange [0.8:5.2]
set key bottom left
set title "5-split-MNIST"
plot "fig2d_mnist.csv" using 1:2 with linespoints pt 7 ps 0.8 lc rgb "#000000" lw 2.5 title "MPCL", \
  "fig2d_mnist.csv" using 1:4 with linespoints pt 7 ps 0.8 lc rgb "#999999" lw 1.5 title "None", \
  "fig2d_mnist.csv" using 1:6 with linespoints pt 7 ps 0.8 lc rgb "#56b4e9" lw 1.5 title "Joint", \
  "fig2d_mnist.csv" using 1:8 with linespoints pt 7 ps 0.8 lc rgb "#e69f00" lw 1.5 title "EWC", \
  "fig2d_mnist.csv" using 1:10 with linespoints pt 7 ps 0.8 lc rgb "#009e73" lw 1.5 title "SI", \
  "fig2d_mnist.csv" using 1:12 with linespoints pt 7 ps 0.8 lc rgb "#0072b2" lw 1.5 title "GEM", \
  "fig2d_mnist.csv" using 1:14 with linespoints pt 7 ps 0.8 lc rgb "#d55e00" lw 1.5 title "A-GEM"
set title "5-split-FashionMNIST"
plot "fig2d_fmnist.csv" using 1:2 with linespoints pt 7 ps 0.8 lc rgb "#000000" lw 2.5 title "MPCL", \
  "fig2d_fmnist.csv" using 1:4 with linespoints pt 7 ps 0.8 lc rgb "#999999" lw 1.5 title "None", \
  "fig2d_fmnist.csv" using 1:6 with linespoints pt 7 ps 0.8 lc rgb "#56b4e9" lw 1.5 title "Joint", \
  "fig2d_fmnist.csv" using 1:8 with linespoints pt 7 ps 0.8 lc rgb "#e69f00" lw 1.5 title "EWC", \
  "fig2d_fmnist.csv" using 1:10 with linespoints pt 7 ps 0.8 lc rgb "#009e73" lw 1.5 title "SI", \
  "fig2d_fmnist.csv" using 1:12 with linespoints pt 7 ps 0.8 lc rgb "#0072b2" lw 1.5 title "GEM", \
  "fig2d_fmnist.csv" using 1:14 with linespoints pt 7 ps 0.8 lc rgb "#d55e00" lw 1.5 title "A-GEM"
unset multiplot
