set datafile missing 'NaN'
set grid
set key outside right top
set logscale x 2
set xlabel 'requests in flight'
$tp_read << EOD
# c limit/pipelined cqlpp/1thread cqlpp/per-core python/async python/asyncio python/cqlpp python/threads node/event-loop gocql/coalesce0us gocql/coalesce200us
1 14723.4 14719.0 14354.3 2950.5 2029.6 8102.4 2348.6 7893.9 10661.6 779.7
8 121691.1 87170.3 88400.7 5039.9 4099.1 37031.5 3235.4 48818.0 41755.2 6408.8
64 303050.3 310899.3 251903.7 5411.4 4806.2 150731.0 3479.6 87664.7 58356.5 97793.8
256 435707.9 419444.3 421184.7 4505.8 3747.5 176664.2 3165.7 86859.8 66558.4 138612.1
1024 503576.8 473884.7 483211.0 3637.9 3588.2 165865.6 2447.0 62137.3 79586.6 160175.7
EOD
$tp_write << EOD
# c limit/pipelined cqlpp/1thread cqlpp/per-core python/async python/asyncio python/cqlpp python/threads node/event-loop gocql/coalesce0us gocql/coalesce200us
1 11228.4 11002.3 10905.0 3811.1 3086.7 7108.9 2896.5 8006.8 11065.6 799.1
8 96048.0 68837.0 80765.0 11441.9 5768.0 33876.2 5373.9 64377.7 63505.0 6624.7
64 246541.2 237783.0 249549.7 14476.7 6369.2 138054.7 6596.5 112425.1 80564.0 115681.8
256 355238.6 358132.3 395451.0 12406.5 7056.0 226434.9 4529.8 128055.4 107256.0 152998.2
1024 456871.8 472217.7 434909.7 11449.9 7265.9 159919.2 4061.1 96669.5 122641.1 153331.2
EOD
$tp_mix << EOD
# c limit/pipelined cqlpp/1thread cqlpp/per-core python/async python/asyncio python/cqlpp python/threads node/event-loop gocql/coalesce0us gocql/coalesce200us
1 12277.1 12914.7 10681.7 3315.8 2393.8 6558.6 2308.0 7843.8 10990.4 792.9
8 88230.5 77045.7 84999.0 5195.2 4027.1 33017.8 3421.3 37252.2 68884.2 6377.0
64 297152.2 306492.7 277972.7 6036.9 4396.2 116363.1 3101.9 86841.5 88226.3 107173.2
256 412045.7 391686.7 364591.3 5759.8 3974.8 173560.2 3140.7 103281.7 110621.0 133985.8
1024 512835.1 399099.3 358816.0 4742.7 3697.9 143761.4 2867.8 68302.9 123085.1 175617.0
EOD
$lat_p50_us << EOD
# c limit/pipelined cqlpp/1thread cqlpp/per-core python/async python/asyncio python/cqlpp python/threads node/event-loop gocql/coalesce0us gocql/coalesce200us
1 62.8 63.8 66.2 312.8 470.3 117.7 404.9 113.8 89.9 1282.0
8 63.6 92.6 79.0 1408.0 1798.0 212.4 2241.3 131.2 119.0 1323.0
64 205.3 202.0 247.2 9373.8 11126.2 396.6 15761.9 586.7 698.4 559.1
256 571.4 596.8 577.6 38653.5 53486.4 1387.7 63577.3 2621.9 3285.0 1699.8
1024 1978.4 2092.8 2067.2 292159.4 299554.5 6201.7 466143.8 15630.6 11960.3 5980.2
EOD
$lat_p99_us << EOD
# c limit/pipelined cqlpp/1thread cqlpp/per-core python/async python/asyncio python/cqlpp python/threads node/event-loop gocql/coalesce0us gocql/coalesce200us
1 104.2 99.0 106.8 670.0 849.2 197.6 772.8 322.6 200.2 1486.8
8 129.3 144.4 282.4 4448.3 4835.9 362.1 6398.9 725.7 1364.0 1650.7
64 349.2 343.2 497.6 72126.1 64952.2 761.5 81035.8 2922.0 6144.0 2060.3
256 960.5 1001.6 1033.6 173050.5 195794.5 3057.2 223927.5 7697.4 11960.3 4866.0
1024 2777.1 3545.6 3417.6 562343.5 621414.2 14414.5 827325.6 39714.0 31260.7 15237.1
EOD
$lat_p999_us << EOD
# c limit/pipelined cqlpp/1thread cqlpp/per-core python/async python/asyncio python/cqlpp python/threads node/event-loop gocql/coalesce0us gocql/coalesce200us
1 332.8 288.8 261.6 1032.5 1701.4 414.9 2245.2 1843.0 465.9 1945.6
8 316.4 341.6 683.2 14651.2 16464.5 539.0 18549.5 1949.4 4169.7 4636.7
64 542.7 523.2 2195.2 90396.3 69645.5 1334.3 87742.6 4852.0 9863.2 3137.5
256 1945.6 1760.0 3091.2 191953.5 209154.5 4037.9 240662.7 12547.8 15564.8 6996.0
1024 3317.8 5900.8 5030.4 588831.7 630448.1 18505.8 931297.1 47444.7 38928.4 19857.4
EOD
$rss << EOD
# c limit/pipelined cqlpp/1thread cqlpp/per-core python/async python/asyncio python/cqlpp python/threads node/event-loop gocql/coalesce0us gocql/coalesce200us
1 14.1015625 9.50390625 10.91796875 38.53125 38.30078125 29.5703125 38.5625 65.140625 11.87109375 11.6953125
8 14.0390625 9.6015625 10.9453125 40.44921875 40.3984375 33.515625 40.21875 110.80859375 11.703125 11.44140625
64 14.0703125 9.7734375 11.05859375 50.46484375 47.98046875 48.546875 50.7890625 124.625 16.53515625 16.87109375
256 14.1484375 10.22265625 11.51953125 56.04296875 55.98828125 52.3671875 62.6796875 129.41796875 37.0078125 37.90625
1024 14.4296875 12.26171875 13.69140625 65.90625 67.703125 55.80078125 92.81640625 157.3125 97.51953125 123.7421875
EOD
$mpr << EOD
# c limit/pipelined cqlpp/1thread cqlpp/per-core python/async python/asyncio python/cqlpp python/threads node/event-loop gocql/coalesce0us gocql/coalesce200us
8 -9.142857142857142 14.285714285714286 4.0 280.57142857142856 306.85714285714283 577.1428571428571 242.28571428571428 6680.571428571428 -24.571428571428573 -37.142857142857146
64 -0.5079365079365079 4.380952380952381 2.2857142857142856 193.96825396825398 157.33333333333334 308.44444444444446 198.73015873015873 966.8571428571429 75.80952380952381 84.12698412698413
256 0.18823529411764706 2.8862745098039215 2.4156862745098038 70.32156862745099 71.02745098039216 91.54509803921569 96.84705882352941 258.11764705882354 100.94117647058823 105.25490196078431
1024 0.3284457478005865 2.760508308895406 2.7761485826001957 27.40175953079179 29.43108504398827 26.256109481915935 54.3069403714565 92.26197458455523 85.73216031280548 112.1564027370479
EOD
$stall << EOD
# i max loop_max p99
0 4.04 0.774 0.451
1 3.771 0.535 0.418
2 3.491 0.43 1.245
3 45.299 45.299 31.546
4 82.686 82.488 82.686
5 4.306 1.218 1.166
6 15.572 11.563 8.005
7 5.152 5.136 2.504
8 4.331 4.331 1.98
EOD
$fixed << EOD
# rate limit/pipelined cqlpp/1thread cqlpp/per-core python/async python/asyncio python/threads node/event-loop gocql/coalesce0us gocql/coalesce200us
1000.0 0.22269999999999998 0.2184 0.19319999999999998 1.3226 4.690600000000001 0.9194 2.9018 1.3066 2.5805
5000.0 0.1439 0.174 0.1764 1006.8804 1542.5471 1559.4728 2.0909 1.5933 2.5969
20000.0 0.343 0.3448 0.4432 2642.3318 3014.3008 3006.822 178.72129999999999 2.1873 3.1048
50000.0 0.3185 0.388 1.6704 3209.7452999999996 3286.9284 3301.2774 412.4416 9.207799999999999 7.1926000000000005
100000.0 0.4372 0.5616 6.937600000000001 3332.1755 3332.4125 3389.1435 1772.2321000000002 606.0769 17.498099999999997
EOD
set terminal svg size 1500,450 dynamic
set output 'bench/results/2026-12-06/throughput.svg'
set multiplot layout 1,3 title 'Throughput vs concurrency'
set logscale y
set ylabel 'ops/s'
set title 'read'
plot $tp_read using 1:2 with linespoints title 'limit/pipelined', $tp_read using 1:3 with linespoints title 'cqlpp/1thread', $tp_read using 1:4 with linespoints title 'cqlpp/per-core', $tp_read using 1:5 with linespoints title 'python/async', $tp_read using 1:6 with linespoints title 'python/asyncio', $tp_read using 1:7 with linespoints title 'python/cqlpp', $tp_read using 1:8 with linespoints title 'python/threads', $tp_read using 1:9 with linespoints title 'node/event-loop', $tp_read using 1:10 with linespoints title 'gocql/coalesce0us', $tp_read using 1:11 with linespoints title 'gocql/coalesce200us'
set title 'write'
plot $tp_write using 1:2 with linespoints title 'limit/pipelined', $tp_write using 1:3 with linespoints title 'cqlpp/1thread', $tp_write using 1:4 with linespoints title 'cqlpp/per-core', $tp_write using 1:5 with linespoints title 'python/async', $tp_write using 1:6 with linespoints title 'python/asyncio', $tp_write using 1:7 with linespoints title 'python/cqlpp', $tp_write using 1:8 with linespoints title 'python/threads', $tp_write using 1:9 with linespoints title 'node/event-loop', $tp_write using 1:10 with linespoints title 'gocql/coalesce0us', $tp_write using 1:11 with linespoints title 'gocql/coalesce200us'
set title 'mix'
plot $tp_mix using 1:2 with linespoints title 'limit/pipelined', $tp_mix using 1:3 with linespoints title 'cqlpp/1thread', $tp_mix using 1:4 with linespoints title 'cqlpp/per-core', $tp_mix using 1:5 with linespoints title 'python/async', $tp_mix using 1:6 with linespoints title 'python/asyncio', $tp_mix using 1:7 with linespoints title 'python/cqlpp', $tp_mix using 1:8 with linespoints title 'python/threads', $tp_mix using 1:9 with linespoints title 'node/event-loop', $tp_mix using 1:10 with linespoints title 'gocql/coalesce0us', $tp_mix using 1:11 with linespoints title 'gocql/coalesce200us'
unset multiplot
set output
set terminal svg size 1500,450 dynamic
set output 'bench/results/2026-12-06/latency.svg'
set multiplot layout 1,3 title 'Read latency percentiles vs concurrency'
set ylabel 'µs'
set title 'p50'
plot $lat_p50_us using 1:2 with linespoints title 'limit/pipelined', $lat_p50_us using 1:3 with linespoints title 'cqlpp/1thread', $lat_p50_us using 1:4 with linespoints title 'cqlpp/per-core', $lat_p50_us using 1:5 with linespoints title 'python/async', $lat_p50_us using 1:6 with linespoints title 'python/asyncio', $lat_p50_us using 1:7 with linespoints title 'python/cqlpp', $lat_p50_us using 1:8 with linespoints title 'python/threads', $lat_p50_us using 1:9 with linespoints title 'node/event-loop', $lat_p50_us using 1:10 with linespoints title 'gocql/coalesce0us', $lat_p50_us using 1:11 with linespoints title 'gocql/coalesce200us'
set title 'p99'
plot $lat_p99_us using 1:2 with linespoints title 'limit/pipelined', $lat_p99_us using 1:3 with linespoints title 'cqlpp/1thread', $lat_p99_us using 1:4 with linespoints title 'cqlpp/per-core', $lat_p99_us using 1:5 with linespoints title 'python/async', $lat_p99_us using 1:6 with linespoints title 'python/asyncio', $lat_p99_us using 1:7 with linespoints title 'python/cqlpp', $lat_p99_us using 1:8 with linespoints title 'python/threads', $lat_p99_us using 1:9 with linespoints title 'node/event-loop', $lat_p99_us using 1:10 with linespoints title 'gocql/coalesce0us', $lat_p99_us using 1:11 with linespoints title 'gocql/coalesce200us'
set title 'p99.9'
plot $lat_p999_us using 1:2 with linespoints title 'limit/pipelined', $lat_p999_us using 1:3 with linespoints title 'cqlpp/1thread', $lat_p999_us using 1:4 with linespoints title 'cqlpp/per-core', $lat_p999_us using 1:5 with linespoints title 'python/async', $lat_p999_us using 1:6 with linespoints title 'python/asyncio', $lat_p999_us using 1:7 with linespoints title 'python/cqlpp', $lat_p999_us using 1:8 with linespoints title 'python/threads', $lat_p999_us using 1:9 with linespoints title 'node/event-loop', $lat_p999_us using 1:10 with linespoints title 'gocql/coalesce0us', $lat_p999_us using 1:11 with linespoints title 'gocql/coalesce200us'
unset multiplot
set output
set terminal svg size 1200,450 dynamic
set output 'bench/results/2026-12-06/memory.svg'
set multiplot layout 1,2 title 'Client memory (read workload)'
set title 'peak RSS'
set ylabel 'MiB'
plot $rss using 1:2 with linespoints title 'limit/pipelined', $rss using 1:3 with linespoints title 'cqlpp/1thread', $rss using 1:4 with linespoints title 'cqlpp/per-core', $rss using 1:5 with linespoints title 'python/async', $rss using 1:6 with linespoints title 'python/asyncio', $rss using 1:7 with linespoints title 'python/cqlpp', $rss using 1:8 with linespoints title 'python/threads', $rss using 1:9 with linespoints title 'node/event-loop', $rss using 1:10 with linespoints title 'gocql/coalesce0us', $rss using 1:11 with linespoints title 'gocql/coalesce200us'
unset logscale y
set title 'per in-flight request: (RSS(c)-RSS(1))/(c-1)'
set ylabel 'KiB'
plot $mpr using 1:2 with linespoints title 'limit/pipelined', $mpr using 1:3 with linespoints title 'cqlpp/1thread', $mpr using 1:4 with linespoints title 'cqlpp/per-core', $mpr using 1:5 with linespoints title 'python/async', $mpr using 1:6 with linespoints title 'python/asyncio', $mpr using 1:7 with linespoints title 'python/cqlpp', $mpr using 1:8 with linespoints title 'python/threads', $mpr using 1:9 with linespoints title 'node/event-loop', $mpr using 1:10 with linespoints title 'gocql/coalesce0us', $mpr using 1:11 with linespoints title 'gocql/coalesce200us'
unset multiplot
set output
set terminal svg size 900,450 dynamic
set output 'bench/results/2026-12-06/stalls.svg'
unset logscale
set title 'Longest delay of a 1 ms ticker during scan + reads'
set style data histograms
set style histogram clustered
set style fill solid 0.8
set boxwidth 0.9
set ylabel 'ms late'
unset xlabel
set xtics ('limit/pipelined' 0, 'cqlpp/1thread' 1, 'cqlpp/per-core' 2, 'python/asyncio' 3, 'python/asyncio-syncpaging' 4, 'python/cqlpp' 5, 'node/event-loop' 6, 'gocql/coalesce0us' 7, 'gocql/coalesce200us' 8) rotate by -30
set logscale y
set yrange [0.01:*]
plot $stall using 2 title 'max', $stall using 3 title 'max, loop (run-queue wait taken off)', $stall using 4 title 'p99'
set output
set terminal svg size 900,450 dynamic
set output 'bench/results/2026-12-06/fixed_rate.svg'
set style data linespoints
set xtics autofreq norotate
set xrange [*:*]
set yrange [*:*]
set logscale x 10
set logscale y 10
set xlabel 'target rate, ops/s'
set ylabel 'corrected p99, ms'
set key outside right top
set title 'Read p99 from the due time vs target rate (open loop)'
plot $fixed using 1:2 with linespoints title 'limit/pipelined', $fixed using 1:3 with linespoints title 'cqlpp/1thread', $fixed using 1:4 with linespoints title 'cqlpp/per-core', $fixed using 1:5 with linespoints title 'python/async', $fixed using 1:6 with linespoints title 'python/asyncio', $fixed using 1:7 with linespoints title 'python/threads', $fixed using 1:8 with linespoints title 'node/event-loop', $fixed using 1:9 with linespoints title 'gocql/coalesce0us', $fixed using 1:10 with linespoints title 'gocql/coalesce200us'
set output
