# drawn by bench_system from the .dat files beside it: gnuplot -e 'sweep=1; latency=1' charts.gp
set terminal svg size 820,440 dynamic font 'sans,12' background '#ffffff'
set border 3
set tics nomirror
set grid ytics lc rgb '#dddddd'
if (exists('sweep') && sweep) {
set output 'connections.svg'
set title 'Database connections held vs concurrent instances (tether up, embedded docstore)'
set key top left reverse Left
set xlabel 'concurrent instances'
set ylabel 'connections open at rest'
set logscale x 2
set xrange [0.85:19]
set xtics (1,2,4,8,16)
set yrange [-0.8:*]
set ytics 0,4
plot 'connections.dat' using 7:4 with linespoints lw 2 pt 7 ps 0.8 lc rgb '#805ad5' title 'Node.js driver, defaults', '' using 5:2 with linespoints lw 2 pt 5 ps 0.8 lc rgb '#2b6cb0' title 'C, managed client (libtether)', '' using 6:3 with linespoints lw 2 pt 9 ps 0.9 lc rgb '#dd6b20' title 'C, client per invocation (none held between invocations)'
unset logscale x
set xrange [*:*]
set xtics auto
set ytics auto
}
if (exists('latency') && latency) {
set output 'latency.svg'
set title 'Latency per invocation, p50 (TLS on; link: 1 ms round trip)'
set key outside top center horizontal
set xlabel ''
set ylabel 'ms'
set yrange [0:*]
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xtics scale 0 font ',11'
set xrange [-0.6:3.6]
plot 'latency.dat' using 2:xtic(1) title 'C, client reused (managed)' lc rgb '#2b6cb0', '' using 3 title 'C, client per invocation' lc rgb '#dd6b20', '' using 4 title 'Node.js, client reused' lc rgb '#805ad5', '' using 5 title 'Node.js, client per invocation' lc rgb '#d69e2e', '' using ($0-0.3):2:(sprintf('%.1f',$2)) with labels offset 0,0.6 font ',9' notitle, '' using ($0-0.1):3:(sprintf('%.0f',$3)) with labels offset 0,0.6 font ',9' notitle, '' using ($0+0.1):4:(sprintf('%.1f',$4)) with labels offset 0,0.6 font ',9' notitle, '' using ($0+0.3):5:(sprintf('%.0f',$5)) with labels offset 0,0.6 font ',9' notitle
}
