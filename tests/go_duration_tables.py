"""Go's own test tables for ``time.ParseDuration`` and ``Duration.String``, as data.

Source: golang/go, src/time/time_test.go at commit f7396aaea0297a2e95b502a4075b0aed6efda89f
(tables parseDurationTests, parseDurationErrorTests and durationTests), transcribed case for case
with Go's constants spelled out below. Only the tables are taken; the tests that read them are
rollgen's own (tests/test_durations.py).

Licence of the source, BSD-3-Clause:

Copyright (c) 2009 The Go Authors. All rights reserved.

Redistribution and use in source and binary forms, with or without
modification, are permitted provided that the following conditions are
met:

   * Redistributions of source code must retain the above copyright
notice, this list of conditions and the following disclaimer.
   * Redistributions in binary form must reproduce the above
copyright notice, this list of conditions and the following disclaimer
in the documentation and/or other materials provided with the
distribution.
   * Neither the name of Google Inc. nor the names of its
contributors may be used to endorse or promote products derived from
this software without specific prior written permission.

THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS
"AS IS" AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT
LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR
A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT
OWNER OR CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL,
SPECIAL, EXEMPLARY, OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT
LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR SERVICES; LOSS OF USE,
DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER CAUSED AND ON ANY
THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY, OR TORT
(INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE
OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
"""

from __future__ import annotations

# Go's time constants, in nanoseconds.
Nanosecond = 1
Microsecond = 1000 * Nanosecond
Millisecond = 1000 * Microsecond
Second = 1000 * Millisecond
Minute = 60 * Second
Hour = 60 * Minute

# Go's strings are bytes; an input that is not UTF-8 ("\x85\x85") reaches Python, from a command line or a
# file read with errors="surrogateescape", as surrogate escapes: such bytes are written so below.

# parseDurationTests: (in, want).
PARSE_DURATION_TESTS: list[tuple[str, int]] = [
    # simple
    ("0", 0),
    ("5s", 5 * Second),
    ("30s", 30 * Second),
    ("1478s", 1478 * Second),
    # sign
    ("-5s", -5 * Second),
    ("+5s", 5 * Second),
    ("-0", 0),
    ("+0", 0),
    # decimal
    ("5.0s", 5 * Second),
    ("5.6s", 5 * Second + 600 * Millisecond),
    ("5.s", 5 * Second),
    (".5s", 500 * Millisecond),
    ("1.0s", 1 * Second),
    ("1.00s", 1 * Second),
    ("1.004s", 1 * Second + 4 * Millisecond),
    ("1.0040s", 1 * Second + 4 * Millisecond),
    ("100.00100s", 100 * Second + 1 * Millisecond),
    # different units
    ("10ns", 10 * Nanosecond),
    ("11us", 11 * Microsecond),
    ("12\u00b5s", 12 * Microsecond),  # U+00B5
    ("12\u03bcs", 12 * Microsecond),  # U+03BC
    ("13ms", 13 * Millisecond),
    ("14s", 14 * Second),
    ("15m", 15 * Minute),
    ("16h", 16 * Hour),
    # composite durations
    ("3h30m", 3 * Hour + 30 * Minute),
    ("10.5s4m", 4 * Minute + 10 * Second + 500 * Millisecond),
    ("-2m3.4s", -(2 * Minute + 3 * Second + 400 * Millisecond)),
    ("1h2m3s4ms5us6ns", 1 * Hour + 2 * Minute + 3 * Second + 4 * Millisecond + 5 * Microsecond + 6 * Nanosecond),
    ("39h9m14.425s", 39 * Hour + 9 * Minute + 14 * Second + 425 * Millisecond),
    # large value
    ("52763797000ns", 52763797000 * Nanosecond),
    # more than 9 digits after decimal point, see https://golang.org/issue/6617
    ("0.3333333333333333333h", 20 * Minute),
    # 9007199254740993 = 1<<53+1 cannot be stored precisely in a float64
    ("9007199254740993ns", ((1 << 53) + 1) * Nanosecond),
    # largest duration that can be represented by int64 in nanoseconds
    ("9223372036854775807ns", ((1 << 63) - 1) * Nanosecond),
    ("9223372036854775.807us", ((1 << 63) - 1) * Nanosecond),
    ("9223372036s854ms775us807ns", ((1 << 63) - 1) * Nanosecond),
    ("-9223372036854775808ns", -(1 << 63) * Nanosecond),
    ("-9223372036854775.808us", -(1 << 63) * Nanosecond),
    ("-9223372036s854ms775us808ns", -(1 << 63) * Nanosecond),
    # largest negative value
    ("-9223372036854775808ns", -(1 << 63) * Nanosecond),
    # largest negative round trip value, see https://golang.org/issue/48629
    ("-2562047h47m16.854775808s", -(1 << 63) * Nanosecond),
    # huge string; issue 15011.
    ("0.100000000000000000000h", 6 * Minute),
    # This value tests the first overflow check in leadingFraction.
    ("0.830103483285477580700h", 49 * Minute + 48 * Second + 372539827 * Nanosecond),
]

# parseDurationErrorTests: (in, expect), expect being a part of the error message.
PARSE_DURATION_ERROR_TESTS: list[tuple[str, str]] = [
    # invalid
    ("", '""'),
    ("3", '"3"'),
    ("-", '"-"'),
    ("s", '"s"'),
    (".", '"."'),
    ("-.", '"-."'),
    (".s", '".s"'),
    ("+.s", '"+.s"'),
    ("1d", '"1d"'),
    ("\udc85\udc85", '"\\x85\\x85"'),
    ("\udcffff", '"\\xffff"'),
    ("hello \udcffff world", '"hello \\xffff world"'),
    ("\ufffd", '"\\xef\\xbf\\xbd"'),  # utf8.RuneError
    ("\ufffd hello \ufffd world", '"\\xef\\xbf\\xbd hello \\xef\\xbf\\xbd world"'),  # utf8.RuneError
    # overflow
    ("9223372036854775810ns", '"9223372036854775810ns"'),
    ("9223372036854775808ns", '"9223372036854775808ns"'),
    ("-9223372036854775809ns", '"-9223372036854775809ns"'),
    ("9223372036854776us", '"9223372036854776us"'),
    ("3000000h", '"3000000h"'),
    ("9223372036854775.808us", '"9223372036854775.808us"'),
    ("9223372036854ms775us808ns", '"9223372036854ms775us808ns"'),
]

# durationTests: (str, d); Go also checks that -d prints as "-" + str for every d > 0.
DURATION_TESTS: list[tuple[str, int]] = [
    ("0s", 0),
    ("1ns", 1 * Nanosecond),
    ("1.1\u00b5s", 1100 * Nanosecond),
    ("2.2ms", 2200 * Microsecond),
    ("3.3s", 3300 * Millisecond),
    ("4m5s", 4 * Minute + 5 * Second),
    ("4m5.001s", 4 * Minute + 5001 * Millisecond),
    ("5h6m7.001s", 5 * Hour + 6 * Minute + 7001 * Millisecond),
    ("8m0.000000001s", 8 * Minute + 1 * Nanosecond),
    ("2562047h47m16.854775807s", (1 << 63) - 1),
    ("-2562047h47m16.854775808s", -(1 << 63)),
]
