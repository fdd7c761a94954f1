set terminal pngcairo size 900,560 font 'sans,10'
set output 'throughput.png'
set title 'Small restores: jobs per second'
set xlabel 'max\_running (= workers)'
set ylabel 'restores per second (median)'
set logscale x 2
set xrange [0.9:4.4]
set xtics (1, 2, 4)
set yrange [0:*]
set key top left
set grid
plot 'throughput-plain.dat' using 1:2 with linespoints dt 1 lw 2 lc rgb '#2471a3' title 'ctrd, no kdat cache (host /run)', \
     'throughput-plain.dat' using 1:3 with lines dt 1 lw 2 lc rgb '#c0392b' title 'CLI back to back, no kdat cache (host /run)', \
     'throughput-cached.dat' using 1:2 with linespoints dt 2 lw 2 lc rgb '#2471a3' title 'ctrd, kdat cache (tmpfs /run)', \
     'throughput-cached.dat' using 1:3 with lines dt 2 lw 2 lc rgb '#c0392b' title 'CLI back to back, kdat cache (tmpfs /run)'
