set terminal pngcairo size 1120,480 enhanced font "DejaVu Sans,11" linewidth 1.5
set output "scenarios.png"
set datafile separator ","
set datafile columnheaders
set grid lc rgb "#dddddd"
set key noenhanced
set multiplot layout 1,2 title "Multitask average accuracy after the fifth task, by scenario (mean of 3 seed(s); error bars: sd)"
set style data histograms
set style histogram errorbars gap 1 lw 1
set style fill solid 0.8 border -1
set ylabel "multitask average accuracy (%)"
set yrange [0:100]
set xtics nomirror
set key below horizontal
set title "5-split-MNIST"
plot "scenarios_mnist.csv" using 2:3:xtic(1) title "task-IL", '' using 4:5 title "domain-IL", '' using 6:7 title "class-IL"
set title "5-split-FashionMNIST"
plot "scenarios_fmnist.csv" using 2:3:xtic(1) title "task-IL", '' using 4:5 title "domain-IL", '' using 6:7 title "class-IL"
unset multiplot
