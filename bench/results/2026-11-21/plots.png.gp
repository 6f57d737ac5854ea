set datafile missing 'NaN'
set grid
set key outside right top
set logscale x 2
set xlabel 'requests in flight'
$tp_read << EOD
# c limit/pipelined cqlpp/1thread cqlpp/per-core python/async python/asyncio python/threads node/event-loop gocql/coalesce0us gocql/coalesce200us
1 10915.8 9215.7 9719.3 2957.5 1789.7 2112.8 6061.8 10620.6 782.1
8 104600.7 63275.7 71553.0 4306.1 3470.8 2945.2 40031.6 56960.4 6474.3
64 300672.6 268313.0 213865.0 5162.0 4177.4 3144.6 74336.1 71600.9 113667.3
256 399639.2 370647.0 343410.3 4242.8 3599.1 2756.2 81032.8 81986.3 152450.8
1024 485811.9 418379.7 349995.0 3361.0 3286.0 2393.4 59923.4 100993.4 163034.2
EOD
$tp_write << EOD
# c limit/pipelined cqlpp/1thread cqlpp/per-core python/async python/asyncio python/threads node/event-loop gocql/coalesce0us gocql/coalesce200us
1 10609.1 11784.3 10771.7 4040.1 3228.9 4151.2 8648.9 11811.0 805.5
8 106119.0 73979.3 72290.7 10295.5 7625.0 5736.0 59052.3 52974.3 6431.2
64 319795.9 303986.7 292297.7 15077.6 9245.3 7301.3 86262.4 69588.8 109343.2
256 411136.6 426127.7 425314.0 13085.1 9226.3 6760.9 102034.3 81041.5 149329.2
1024 486396.8 549561.7 443304.3 13013.8 7385.6 4729.1 84791.1 95854.1 170793.0
EOD
$tp_mix << EOD
# c limit/pipelined cqlpp/1thread cqlpp/per-core python/async python/asyncio python/threads node/event-loop gocql/coalesce0us gocql/coalesce200us
1 11611.6 11872.7 10596.3 3405.6 2632.0 2575.9 7510.0 11194.7 813.3
8 106235.2 66942.0 79524.0 5281.0 4046.1 3911.0 45194.0 64372.9 6481.8
64 266020.0 287813.3 259359.7 6045.3 5100.5 4414.4 85179.3 75424.8 111710.9
256 412599.1 454032.3 330832.0 4889.4 4422.2 3073.3 81438.0 71683.9 139991.9
1024 509535.9 525740.3 362469.0 4474.5 3867.2 3267.5 78257.0 79687.1 162813.1
EOD
$lat_p50_us << EOD
# c limit/pipelined cqlpp/1thread cqlpp/per-core python/async python/asyncio python/threads node/event-loop gocql/coalesce0us gocql/coalesce200us
1 86.8 102.8 95.0 316.3 501.9 444.1 151.1 88.3 1273.9
8 72.4 124.4 102.8 1662.3 2138.9 2500.0 161.7 79.1 1306.6
64 201.2 221.6 232.8 9941.1 13475.9 17555.8 699.9 534.5 453.6
256 628.7 670.4 705.6 45378.3 55756.3 75284.6 2738.6 2596.9 1511.4
1024 2084.9 2323.2 2592.0 307631.2 308484.7 459329.3 15815.8 9142.3 5881.9
EOD
$lat_p99_us << EOD
# c limit/pipelined cqlpp/1thread cqlpp/per-core python/async python/asyncio python/threads node/event-loop gocql/coalesce0us gocql/coalesce200us
1 185.9 178.8 212.0 610.1 1481.9 897.4 459.5 209.4 1527.8
8 170.5 234.4 324.0 5136.3 5315.7 6461.4 937.0 1593.3 1765.4
64 382.0 510.4 1926.4 69719.5 73050.2 94595.3 3438.7 5554.2 2027.5
256 915.5 1238.4 1836.8 178536.7 180630.0 243896.9 9083.0 10715.1 4833.3
1024 2973.7 4876.8 8166.4 516930.6 693490.4 860643.6 44967.9 26804.2 14909.4
EOD
$lat_p999_us << EOD
# c limit/pipelined cqlpp/1thread cqlpp/per-core python/async python/asyncio python/threads node/event-loop gocql/coalesce0us gocql/coalesce200us
1 526.3 420.8 969.6 1249.0 4304.7 2664.0 1717.9 463.9 2002.9
8 373.8 494.4 760.0 17192.2 14506.2 16482.7 2349.1 4309.0 3612.7
64 624.6 1481.6 4595.2 81855.7 80794.9 104944.8 5173.6 9076.7 4407.3
256 1970.2 2374.4 4723.2 204660.8 211298.2 260373.0 27163.7 13991.9 6996.0
1024 4243.5 7552.0 12313.6 607170.5 697230.6 926732.5 56556.6 36831.2 20906.0
EOD
$rss << EOD
# c limit/pipelined cqlpp/1thread cqlpp/per-core python/async python/asyncio python/threads node/event-loop gocql/coalesce0us gocql/coalesce200us
1 16.08984375 9.05859375 10.51953125 38.24609375 37.48828125 37.9296875 66.6015625 11.734375 11.3828125
8 16.12890625 8.98046875 10.66015625 40.13671875 39.484375 39.58984375 111.95703125 11.84765625 11.6640625
64 16.16015625 9.35546875 10.94921875 50.2421875 48.1796875 49.55078125 117.48046875 16.609375 16.484375
256 16.32421875 10.3671875 12.046875 55.375 55.3515625 61.4453125 132.91015625 37.39453125 37.078125
1024 16.74609375 14.39453125 16.21484375 67.6640625 66.56640625 91.73046875 150.6015625 113.453125 118.8515625
EOD
$mpr << EOD
# c limit/pipelined cqlpp/1thread cqlpp/per-core python/async python/asyncio python/threads node/event-loop gocql/coalesce0us gocql/coalesce200us
8 5.714285714285714 -11.428571428571429 20.571428571428573 276.57142857142856 292.0 242.85714285714286 6634.857142857143 16.571428571428573 41.142857142857146
64 1.1428571428571428 4.825396825396825 6.984126984126984 194.984126984127 173.77777777777777 188.88888888888889 826.984126984127 79.23809523809524 82.92063492063492
256 0.9411764705882353 5.254901960784314 6.133333333333334 68.7843137254902 71.73333333333333 94.43137254901961 266.27450980392155 103.04313725490196 103.1843137254902
1024 0.656891495601173 5.341153470185728 5.700879765395895 29.44672531769306 29.10654936461388 53.853372434017594 84.08211143695014 101.81818181818181 107.57380254154448
EOD
$stall << EOD
# i max p99
0 4.02 0.546
1 4.077 0.466
2 5.571 2.861
3 34.063 26.547
4 77.877 77.877
5 12.146 8.203
6 6.585 2.76
7 5.759 1.764
EOD
set terminal pngcairo size 1500,450 font 'sans,10'
set output 'bench/results/2026-11-21/throughput.png'
set multiplot layout 1,3 title 'Throughput vs concurrency'
set logscale y
set ylabel 'ops/s'
set title 'read'
plot $tp_read using 1:2 with linespoints title 'limit/pipelined', $tp_read using 1:3 with linespoints title 'cqlpp/1thread', $tp_read using 1:4 with linespoints title 'cqlpp/per-core', $tp_read using 1:5 with linespoints title 'python/async', $tp_read using 1:6 with linespoints title 'python/asyncio', $tp_read using 1:7 with linespoints title 'python/threads', $tp_read using 1:8 with linespoints title 'node/event-loop', $tp_read using 1:9 with linespoints title 'gocql/coalesce0us', $tp_read using 1:10 with linespoints title 'gocql/coalesce200us'
set title 'write'
plot $tp_write using 1:2 with linespoints title 'limit/pipelined', $tp_write using 1:3 with linespoints title 'cqlpp/1thread', $tp_write using 1:4 with linespoints title 'cqlpp/per-core', $tp_write using 1:5 with linespoints title 'python/async', $tp_write using 1:6 with linespoints title 'python/asyncio', $tp_write using 1:7 with linespoints title 'python/threads', $tp_write using 1:8 with linespoints title 'node/event-loop', $tp_write using 1:9 with linespoints title 'gocql/coalesce0us', $tp_write using 1:10 with linespoints title 'gocql/coalesce200us'
set title 'mix'
plot $tp_mix using 1:2 with linespoints title 'limit/pipelined', $tp_mix using 1:3 with linespoints title 'cqlpp/1thread', $tp_mix using 1:4 with linespoints title 'cqlpp/per-core', $tp_mix using 1:5 with linespoints title 'python/async', $tp_mix using 1:6 with linespoints title 'python/asyncio', $tp_mix using 1:7 with linespoints title 'python/threads', $tp_mix using 1:8 with linespoints title 'node/event-loop', $tp_mix using 1:9 with linespoints title 'gocql/coalesce0us', $tp_mix using 1:10 with linespoints title 'gocql/coalesce200us'
unset multiplot
set output
set terminal pngcairo size 1500,450 font 'sans,10'
set output 'bench/results/2026-11-21/latency.png'
set multiplot layout 1,3 title 'Read latency percentiles vs concurrency'
set ylabel 'µs'
set title 'p50'
plot $lat_p50_us using 1:2 with linespoints title 'limit/pipelined', $lat_p50_us using 1:3 with linespoints title 'cqlpp/1thread', $lat_p50_us using 1:4 with linespoints title 'cqlpp/per-core', $lat_p50_us using 1:5 with linespoints title 'python/async', $lat_p50_us using 1:6 with linespoints title 'python/asyncio', $lat_p50_us using 1:7 with linespoints title 'python/threads', $lat_p50_us using 1:8 with linespoints title 'node/event-loop', $lat_p50_us using 1:9 with linespoints title 'gocql/coalesce0us', $lat_p50_us using 1:10 with linespoints title 'gocql/coalesce200us'
set title 'p99'
plot $lat_p99_us using 1:2 with linespoints title 'limit/pipelined', $lat_p99_us using 1:3 with linespoints title 'cqlpp/1thread', $lat_p99_us using 1:4 with linespoints title 'cqlpp/per-core', $lat_p99_us using 1:5 with linespoints title 'python/async', $lat_p99_us using 1:6 with linespoints title 'python/asyncio', $lat_p99_us using 1:7 with linespoints title 'python/threads', $lat_p99_us using 1:8 with linespoints title 'node/event-loop', $lat_p99_us using 1:9 with linespoints title 'gocql/coalesce0us', $lat_p99_us using 1:10 with linespoints title 'gocql/coalesce200us'
set title 'p99.9'
plot $lat_p999_us using 1:2 with linespoints title 'limit/pipelined', $lat_p999_us using 1:3 with linespoints title 'cqlpp/1thread', $lat_p999_us using 1:4 with linespoints title 'cqlpp/per-core', $lat_p999_us using 1:5 with linespoints title 'python/async', $lat_p999_us using 1:6 with linespoints title 'python/asyncio', $lat_p999_us using 1:7 with linespoints title 'python/threads', $lat_p999_us using 1:8 with linespoints title 'node/event-loop', $lat_p999_us using 1:9 with linespoints title 'gocql/coalesce0us', $lat_p999_us using 1:10 with linespoints title 'gocql/coalesce200us'
unset multiplot
set output
set terminal pngcairo size 1200,450 font 'sans,10'
set output 'bench/results/2026-11-21/memory.png'
set multiplot layout 1,2 title 'Client memory (read workload)'
set title 'peak RSS'
set ylabel 'MiB'
plot $rss using 1:2 with linespoints title 'limit/pipelined', $rss using 1:3 with linespoints title 'cqlpp/1thread', $rss using 1:4 with linespoints title 'cqlpp/per-core', $rss using 1:5 with linespoints title 'python/async', $rss using 1:6 with linespoints title 'python/asyncio', $rss using 1:7 with linespoints title 'python/threads', $rss using 1:8 with linespoints title 'node/event-loop', $rss using 1:9 with linespoints title 'gocql/coalesce0us', $rss using 1:10 with linespoints title 'gocql/coalesce200us'
unset logscale y
set title 'per in-flight request: (RSS(c)-RSS(1))/(c-1)'
set ylabel 'KiB'
plot $mpr using 1:2 with linespoints title 'limit/pipelined', $mpr using 1:3 with linespoints title 'cqlpp/1thread', $mpr using 1:4 with linespoints title 'cqlpp/per-core', $mpr using 1:5 with linespoints title 'python/async', $mpr using 1:6 with linespoints title 'python/asyncio', $mpr using 1:7 with linespoints title 'python/threads', $mpr using 1:8 with linespoints title 'node/event-loop', $mpr using 1:9 with linespoints title 'gocql/coalesce0us', $mpr using 1:10 with linespoints title 'gocql/coalesce200us'
unset multiplot
set output
set terminal pngcairo size 900,450 font 'sans,10'
set output 'bench/results/2026-11-21/stalls.png'
unset logscale
set title 'Longest delay of a 1 ms ticker during scan + reads'
set style data histograms
set style histogram clustered
set style fill solid 0.8
set boxwidth 0.9
set ylabel 'ms late'
unset xlabel
set xtics ('limit/pipelined' 0, 'cqlpp/1thread' 1, 'cqlpp/per-core' 2, 'python/asyncio' 3, 'python/asyncio-syncpaging' 4, 'node/event-loop' 5, 'gocql/coalesce0us' 6, 'gocql/coalesce200us' 7) rotate by -30
set logscale y
set yrange [0.01:*]
plot $stall using 2 title 'max', $stall using 3 title 'p99'
set output
