set terminal pngcairo size 900,560 font 'sans,10'
set output 'sweep.png'
set title 'Restore through ctrd: time against memory size'
set xlabel 'workload memory (MiB)'
set ylabel 'ms from submit (median)'
set logscale xy 2
set key top left
set grid
plot 'sweep-plain.dat' using 1:2 with linespoints dt 1 lw 2 lc rgb '#c0392b' title 'full: restored, no kdat cache (host /run)', \
     'sweep-plain.dat' using 1:3 with linespoints dt 1 lw 2 lc rgb '#2471a3' title 'lazy: restored, no kdat cache (host /run)', \
     'sweep-plain.dat' using 1:4 with linespoints dt 1 lw 2 lc rgb '#229954' title 'lazy: pages-complete, no kdat cache (host /run)', \
     'sweep-cached.dat' using 1:2 with linespoints dt 2 lw 2 lc rgb '#c0392b' title 'full: restored, kdat cache (tmpfs /run)', \
     'sweep-cached.dat' using 1:3 with linespoints dt 2 lw 2 lc rgb '#2471a3' title 'lazy: restored, kdat cache (tmpfs /run)', \
     'sweep-cached.dat' using 1:4 with linespoints dt 2 lw 2 lc rgb '#229954' title 'lazy: pages-complete, kdat cache (tmpfs /run)'
