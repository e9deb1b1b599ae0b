set terminal pngcairo size 1120,480 enhanced font "DejaVu Sans,11" linewidth 1.5
set output "fig5e.png"
set datafile separator ","
set datafile columnheaders
set grid lc rgb "#dddddd"
set key noenhanced
set multiplot layout 1,2 title "Fig. 5e: the software simulation of the chip (WL/WR, Int) against the chip, task by task, p = 16"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set xlabel "task"
set ylabel "test accuracy (%)"
set key outside bottom center horizontal
set title "5-split-MNIST"
set yrange [71:100.5]
plot "fig5e.csv" every ::0::4 using 3:xtic(2) title "software", '' every ::0::4 using 4 title "simulation", '' every ::0::4 using 5 title "chip", '' every ::0::4 using 6 title "chip, fine-tuned"
set title "5-split-FashionMNIST"
set yrange [47:100.5]
plot "fig5e.csv" every ::5::9 using 3:xtic(2) title "software", '' every ::5::9 using 4 title "simulation", '' every ::5::9 using 5 title "chip", '' every ::5::9 using 6 title "chip, fine-tuned"
unset multiplot
