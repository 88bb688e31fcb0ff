/*
 * parser_syslog (plugins/parser_syslog/): records as Fluentd's
 * SyslogParser (v1.12+) builds them, for both engines (regexp, string),
 * the three message formats, with and without <pri>, keep_time_key and
 * support_colonless_ident. Every table was produced by Ruby 3.1 running
 * Fluentd's syslog code (the strptime gem or Time.strptime for the time,
 * TZ=UTC) on the same bytes; "nil" is no record (Fluentd yields nil or
 * raises). The engines differ on odd lines, and the tables keep that.
 * Times without a year are in the current year (yearless: MMDDhhmmss).
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../parser/record_render.h"
#include "../../parser/parser_harness.h"
#include "timefmt/timefmt.h"

extern const struct sk_plugin sk_plugin_parser_syslog;

struct sl_case {
    const char *line;
    const char *record;
    int64_t sec;
    uint32_t nsec;
    long long yearless;
};

static const struct sl_case t_3164[] = {
    {"Feb 28 12:00:00 192.168.0.1 fluentd[11111]: [error] Syslog test",
     "{host=192.168.0.1|ident=fluentd|pid=11111|message=[error] Syslog test}", 0, 0, 228120000LL},
    {"Feb  5 17:32:18 10.0.0.99 Use the BFG!",
     "{host=10.0.0.99|ident=Use|message=the BFG!}", 0, 0, 205173218LL},
    {"Feb  5 17:32:18 10.0.0.99 sshd[4321]: Accepted publickey for root from 10.0.0.1 port 52222 ssh2",
     "{host=10.0.0.99|ident=sshd|pid=4321|message=Accepted publickey for root from 10.0.0.1 port 52222 ssh2}", 0, 0, 205173218LL},
    {"Mar  1 06:25:01 web01 CRON[2211]: (root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)",
     "{host=web01|ident=CRON|pid=2211|message=(root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)}", 0, 0, 301062501LL},
    {"Mar 11 08:00:00 web01 kernel: [123456.789012] eth0: link up",
     "{host=web01|ident=kernel|message=[123456.789012] eth0: link up}", 0, 0, 311080000LL},
    {"Mar 11 08:00:00 web01 systemd[1]: Started Session 42 of user alice.",
     "{host=web01|ident=systemd|pid=1|message=Started Session 42 of user alice.}", 0, 0, 311080000LL},
    {"Mar 11 08:00:00.123456 web01 app[7]: sub-second time",
     "{host=web01|ident=app|pid=7|message=sub-second time}", 0, 0, 311080000LL},
    {"Mar 11 08:00:00 web01 app[7] colonless with pid",
     "{host=web01|ident=app|pid=7|message=colonless with pid}", 0, 0, 311080000LL},
    {"Mar 11 08:00:00 web01 app colonless",
     "{host=web01|ident=app|message=colonless}", 0, 0, 311080000LL},
    {"Mar 11 08:00:00 web01 onlyword",
     "{host=web01|ident=onlyword|message=}", 0, 0, 311080000LL},
    {"Mar 11 08:00:00 web01 ",
     "{host=web01|ident=|message=}", 0, 0, 311080000LL},
    {"Mar 11 08:00:00 web01",
     "nil", 0, 0, 0LL},
    {"Mar 11 08:00:00 web01 ident[abc]: pid not numeric",
     "{host=web01|ident=ident|message=pid not numeric}", 0, 0, 311080000LL},
    {"Mar 11 08:00:00 web01 weird]: no bracket open",
     "{host=web01|ident=weird]|message=no bracket open}", 0, 0, 311080000LL},
    {"Mar 11 08:00:00 web01 a]b[c]: odd brackets",
     "{host=web01|ident=a]b|message=odd brackets}", 0, 0, 311080000LL},
    {"Mar 11 08:00:00 web01 app: message ends with cr\r",
     "{host=web01|ident=app|message=message ends with cr}", 0, 0, 311080000LL},
    {"Mar 11 08:00:00 web01 app:  two spaces",
     "{host=web01|ident=app|message=two spaces}", 0, 0, 311080000LL},
    {"not a syslog line at all",
     "nil", 0, 0, 0LL},
    {"",
     "nil", 0, 0, 0LL},
    {"Mar 11 08:00:00",
     "nil", 0, 0, 0LL},
    {"Foo 11 08:00:00 web01 app: bad month",
     "nil", 0, 0, 0LL},
};

static const struct sl_case t_3164s[] = {
    {"Feb 28 12:00:00 192.168.0.1 fluentd[11111]: [error] Syslog test",
     "{host=192.168.0.1|ident=fluentd|pid=11111|message=[error] Syslog test}", 0, 0, 228120000LL},
    {"Feb  5 17:32:18 10.0.0.99 Use the BFG!",
     "{host=10.0.0.99|ident=Use|message=the BFG!}", 0, 0, 205173218LL},
    {"Feb  5 17:32:18 10.0.0.99 sshd[4321]: Accepted publickey for root from 10.0.0.1 port 52222 ssh2",
     "{host=10.0.0.99|ident=sshd|pid=4321|message=Accepted publickey for root from 10.0.0.1 port 52222 ssh2}", 0, 0, 205173218LL},
    {"Mar  1 06:25:01 web01 CRON[2211]: (root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)",
     "{host=web01|ident=CRON|pid=2211|message=(root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)}", 0, 0, 301062501LL},
    {"Mar 11 08:00:00 web01 kernel: [123456.789012] eth0: link up",
     "{host=web01|ident=kernel|message=[123456.789012] eth0: link up}", 0, 0, 311080000LL},
    {"Mar 11 08:00:00 web01 systemd[1]: Started Session 42 of user alice.",
     "{host=web01|ident=systemd|pid=1|message=Started Session 42 of user alice.}", 0, 0, 311080000LL},
    {"Mar 11 08:00:00.123456 web01 app[7]: sub-second time",
     "{host=web01|ident=app|pid=7|message=sub-second time}", 0, 0, 311080000LL},
    {"Mar 11 08:00:00 web01 app[7] colonless with pid",
     "{host=web01|ident=app|pid=7|message=colonless with pid}", 0, 0, 311080000LL},
    {"Mar 11 08:00:00 web01 app colonless",
     "{host=web01|ident=app|message=colonless}", 0, 0, 311080000LL},
    {"Mar 11 08:00:00 web01 onlyword",
     "{host=web01|message=onlyword}", 0, 0, 311080000LL},
    {"Mar 11 08:00:00 web01 ",
     "{host=web01|message=}", 0, 0, 311080000LL},
    {"Mar 11 08:00:00 web01",
     "nil", 0, 0, 0LL},
    {"Mar 11 08:00:00 web01 ident[abc]: pid not numeric",
     "{host=web01|ident=ident|pid=abc|message=pid not numeric}", 0, 0, 311080000LL},
    {"Mar 11 08:00:00 web01 weird]: no bracket open",
     "nil", 0, 0, 0LL},
    {"Mar 11 08:00:00 web01 a]b[c]: odd brackets",
     "{host=web01|ident=a]b|pid=c|message=odd brackets}", 0, 0, 311080000LL},
    {"Mar 11 08:00:00 web01 app: message ends with cr\r",
     "{host=web01|ident=app|message=message ends with cr}", 0, 0, 311080000LL},
    {"Mar 11 08:00:00 web01 app:  two spaces",
     "{host=web01|ident=app|message= two spaces}", 0, 0, 311080000LL},
    {"not a syslog line at all",
     "nil", 0, 0, 0LL},
    {"",
     "nil", 0, 0, 0LL},
    {"Mar 11 08:00:00",
     "nil", 0, 0, 0LL},
    {"Foo 11 08:00:00 web01 app: bad month",
     "nil", 0, 0, 0LL},
};

static const struct sl_case t_3164p[] = {
    {"<6>Feb 28 12:00:00 192.168.0.1 fluentd[11111]: [error] Syslog test",
     "{pri=i:6|host=192.168.0.1|ident=fluentd|pid=11111|message=[error] Syslog test}", 0, 0, 228120000LL},
    {"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
     "{pri=i:34|host=mymachine|ident=su|message='su root' failed for lonvick on /dev/pts/8}", 0, 0, 1011221415LL},
    {"<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!",
     "{pri=i:13|host=10.0.0.99|ident=Use|message=the BFG!}", 0, 0, 205173218LL},
    {"<13>Mar 11 08:00:00.5 web01 app[7]: sub-second with pri",
     "{pri=i:13|host=web01|ident=app|pid=7|message=sub-second with pri}", 0, 0, 311080000LL},
    {"<>Feb 28 12:00:00 host app: empty pri",
     "nil", 0, 0, 0LL},
    {"<1234>Feb 28 12:00:00 host app: four digit pri",
     "nil", 0, 0, 0LL},
    {"Feb 28 12:00:00 host app: no pri",
     "nil", 0, 0, 0LL},
    {"<7> Feb 28 12:00:00 host app: space after pri",
     "nil", 0, 0, 0LL},
};

static const struct sl_case t_3164ps[] = {
    {"<6>Feb 28 12:00:00 192.168.0.1 fluentd[11111]: [error] Syslog test",
     "{host=192.168.0.1|pri=i:6|ident=fluentd|pid=11111|message=[error] Syslog test}", 0, 0, 228120000LL},
    {"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
     "{host=mymachine|pri=i:34|ident=su|message='su root' failed for lonvick on /dev/pts/8}", 0, 0, 1011221415LL},
    {"<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!",
     "{host=10.0.0.99|pri=i:13|ident=Use|message=the BFG!}", 0, 0, 205173218LL},
    {"<13>Mar 11 08:00:00.5 web01 app[7]: sub-second with pri",
     "{host=web01|pri=i:13|ident=app|pid=7|message=sub-second with pri}", 0, 0, 311080000LL},
    {"<>Feb 28 12:00:00 host app: empty pri",
     "nil", 0, 0, 0LL},
    {"<1234>Feb 28 12:00:00 host app: four digit pri",
     "{host=host|pri=i:1234|ident=app|message=four digit pri}", 0, 0, 228120000LL},
    {"Feb 28 12:00:00 host app: no pri",
     "nil", 0, 0, 0LL},
    {"<7> Feb 28 12:00:00 host app: space after pri",
     "nil", 0, 0, 0LL},
};

static const struct sl_case t_3164nc[] = {
    {"Feb 28 12:00:00 192.168.0.1 fluentd[11111]: [error] Syslog test",
     "{host=192.168.0.1|ident=fluentd|pid=11111|message=[error] Syslog test}", 0, 0, 228120000LL},
    {"Feb  5 17:32:18 10.0.0.99 Use the BFG!",
     "{host=10.0.0.99|message=Use the BFG!}", 0, 0, 205173218LL},
    {"Feb  5 17:32:18 10.0.0.99 sshd[4321]: Accepted publickey for root from 10.0.0.1 port 52222 ssh2",
     "{host=10.0.0.99|ident=sshd|pid=4321|message=Accepted publickey for root from 10.0.0.1 port 52222 ssh2}", 0, 0, 205173218LL},
    {"Mar  1 06:25:01 web01 CRON[2211]: (root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)",
     "{host=web01|ident=CRON|pid=2211|message=(root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)}", 0, 0, 301062501LL},
    {"Mar 11 08:00:00 web01 kernel: [123456.789012] eth0: link up",
     "{host=web01|ident=kernel|message=[123456.789012] eth0: link up}", 0, 0, 311080000LL},
    {"Mar 11 08:00:00 web01 systemd[1]: Started Session 42 of user alice.",
     "{host=web01|ident=systemd|pid=1|message=Started Session 42 of user alice.}", 0, 0, 311080000LL},
    {"Mar 11 08:00:00.123456 web01 app[7]: sub-second time",
     "{host=web01|ident=app|pid=7|message=sub-second time}", 0, 0, 311080000LL},
    {"Mar 11 08:00:00 web01 app[7] colonless with pid",
     "{host=web01|message=app[7] colonless with pid}", 0, 0, 311080000LL},
    {"Mar 11 08:00:00 web01 app colonless",
     "{host=web01|message=app colonless}", 0, 0, 311080000LL},
    {"Mar 11 08:00:00 web01 onlyword",
     "{host=web01|message=onlyword}", 0, 0, 311080000LL},
    {"Mar 11 08:00:00 web01 ",
     "{host=web01|message=}", 0, 0, 311080000LL},
    {"Mar 11 08:00:00 web01",
     "nil", 0, 0, 0LL},
    {"Mar 11 08:00:00 web01 ident[abc]: pid not numeric",
     "{host=web01|ident=ident|pid=abc|message=pid not numeric}", 0, 0, 311080000LL},
    {"Mar 11 08:00:00 web01 weird]: no bracket open",
     "nil", 0, 0, 0LL},
    {"Mar 11 08:00:00 web01 a]b[c]: odd brackets",
     "{host=web01|ident=a]b|pid=c|message=odd brackets}", 0, 0, 311080000LL},
    {"Mar 11 08:00:00 web01 app: message ends with cr\r",
     "{host=web01|ident=app|message=message ends with cr}", 0, 0, 311080000LL},
    {"Mar 11 08:00:00 web01 app:  two spaces",
     "{host=web01|ident=app|message= two spaces}", 0, 0, 311080000LL},
    {"not a syslog line at all",
     "nil", 0, 0, 0LL},
    {"",
     "nil", 0, 0, 0LL},
    {"Mar 11 08:00:00",
     "nil", 0, 0, 0LL},
    {"Foo 11 08:00:00 web01 app: bad month",
     "nil", 0, 0, 0LL},
};

static const struct sl_case t_5424[] = {
    {"<16>1 2013-02-28T12:00:00.003Z 192.168.0.1 fluentd 11111 ID24224 [exampleSDID@20224 iut=\"3\" eventSource=\"Application\" eventID=\"11211\"] Hi, from Fluentd!",
     "{pri=i:16|host=192.168.0.1|ident=fluentd|pid=11111|msgid=ID24224|extradata=[exampleSDID@20224 iut=\"3\" eventSource=\"Application\" eventID=\"11211\"]|message=Hi, from Fluentd!}", 1362052800, 3000000, 0LL},
    {"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"][examplePriority@32473 class=\"high\"] message with two SD",
     "{pri=i:165|host=mymachine.example.com|ident=evntslog|pid=-|msgid=ID47|extradata=[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"][examplePriority@32473 class=\"high\"]|message=message with two SD}", 1065910455, 3000000, 0LL},
    {"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed",
     "{pri=i:34|host=mymachine.example.com|ident=su|pid=-|msgid=ID47|extradata=-|message='su root' failed}", 1065910455, 3000000, 0LL},
    {"<34>1 2003-10-11T22:14:15Z host app 123 - - no subseconds",
     "{pri=i:34|host=host|ident=app|pid=123|msgid=-|extradata=-|message=no subseconds}", 1065910455, 0, 0LL},
    {"<34>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.",
     "{pri=i:34|host=192.0.2.1|ident=myproc|pid=8710|msgid=-|extradata=-|message=%% It's time to make the do-nuts.}", 1061727255, 3000, 0LL},
    {"<34>1 2003-10-11T22:14:15.003Z host app 123 ID1 [a@1 x=\"y\\]z\"] escaped bracket",
     "{pri=i:34|host=host|ident=app|pid=123|msgid=ID1|extradata=[a@1 x=\"y\\]z\"]|message=escaped bracket}", 1065910455, 3000000, 0LL},
    {"<34>1 2003-10-11T22:14:15.003Z host app 123 ID1 [a@1 x=\"1\"]",
     "{pri=i:34|host=host|ident=app|pid=123|msgid=ID1|extradata=[a@1 x=\"1\"]}", 1065910455, 3000000, 0LL},
    {"<34>1 2003-10-11T22:14:15.003Z host app 123 ID1 -",
     "{pri=i:34|host=host|ident=app|pid=123|msgid=ID1|extradata=-}", 1065910455, 3000000, 0LL},
    {"<34>1 2003-10-11T22:14:15.003Z host app 123 ID1 - multi\nline message\n",
     "{pri=i:34|host=host|ident=app|pid=123|msgid=ID1|extradata=-|message=multi\nline message}", 1065910455, 3000000, 0LL},
    {"<34>1 2003-10-11T22:14:15.003Z host app 123",
     "nil", 0, 0, 0LL},
    {"<34>1 not-a-time host app 123 ID1 - x",
     "nil", 0, 0, 0LL},
};

static const struct sl_case t_5424s[] = {
    {"<16>1 2013-02-28T12:00:00.003Z 192.168.0.1 fluentd 11111 ID24224 [exampleSDID@20224 iut=\"3\" eventSource=\"Application\" eventID=\"11211\"] Hi, from Fluentd!",
     "{host=192.168.0.1|ident=fluentd|pid=11111|msgid=ID24224|pri=i:16|extradata=[exampleSDID@20224 iut=\"3\" eventSource=\"Application\" eventID=\"11211\"]|message=Hi, from Fluentd!}", 1362052800, 3000000, 0LL},
    {"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"][examplePriority@32473 class=\"high\"] message with two SD",
     "{host=mymachine.example.com|ident=evntslog|pid=-|msgid=ID47|pri=i:165|extradata=[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"][examplePriority@32473 class=\"high\"]|message=message with two SD}", 1065910455, 3000000, 0LL},
    {"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed",
     "{host=mymachine.example.com|ident=su|pid=-|msgid=ID47|pri=i:34|extradata=-|message='su root' failed}", 1065910455, 3000000, 0LL},
    {"<34>1 2003-10-11T22:14:15Z host app 123 - - no subseconds",
     "{host=host|ident=app|pid=123|msgid=-|pri=i:34|extradata=-|message=no subseconds}", 1065910455, 0, 0LL},
    {"<34>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.",
     "{host=192.0.2.1|ident=myproc|pid=8710|msgid=-|pri=i:34|extradata=-|message=%% It's time to make the do-nuts.}", 1061727255, 3000, 0LL},
    {"<34>1 2003-10-11T22:14:15.003Z host app 123 ID1 [a@1 x=\"y\\]z\"] escaped bracket",
     "{host=host|ident=app|pid=123|msgid=ID1|pri=i:34|extradata=[a@1 x=\"y]z\"]|message=escaped bracket}", 1065910455, 3000000, 0LL},
    {"<34>1 2003-10-11T22:14:15.003Z host app 123 ID1 [a@1 x=\"1\"]",
     "{host=host|ident=app|pid=123|msgid=ID1|pri=i:34|extradata=[a@1 x=\"1\"]}", 1065910455, 3000000, 0LL},
    {"<34>1 2003-10-11T22:14:15.003Z host app 123 ID1 -",
     "{host=host|ident=app|pid=123|msgid=ID1|pri=i:34|extradata=-}", 1065910455, 3000000, 0LL},
    {"<34>1 2003-10-11T22:14:15.003Z host app 123 ID1 - multi\nline message\n",
     "{host=host|ident=app|pid=123|msgid=ID1|pri=i:34|extradata=-|message=multi\nline message}", 1065910455, 3000000, 0LL},
    {"<34>1 2003-10-11T22:14:15.003Z host app 123",
     "nil", 0, 0, 0LL},
    {"<34>1 not-a-time host app 123 ID1 - x",
     "nil", 0, 0, 0LL},
};

static const struct sl_case t_auto[] = {
    {"<6>Feb 28 12:00:00 192.168.0.1 fluentd[11111]: [error] Syslog test",
     "{pri=i:6|host=192.168.0.1|ident=fluentd|pid=11111|message=[error] Syslog test}", 0, 0, 228120000LL},
    {"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
     "{pri=i:34|host=mymachine|ident=su|message='su root' failed for lonvick on /dev/pts/8}", 0, 0, 1011221415LL},
    {"<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!",
     "{pri=i:13|host=10.0.0.99|ident=Use|message=the BFG!}", 0, 0, 205173218LL},
    {"<13>Mar 11 08:00:00.5 web01 app[7]: sub-second with pri",
     "{pri=i:13|host=web01|ident=app|pid=7|message=sub-second with pri}", 0, 0, 311080000LL},
    {"<>Feb 28 12:00:00 host app: empty pri",
     "nil", 0, 0, 0LL},
    {"<1234>Feb 28 12:00:00 host app: four digit pri",
     "nil", 0, 0, 0LL},
    {"Feb 28 12:00:00 host app: no pri",
     "nil", 0, 0, 0LL},
    {"<7> Feb 28 12:00:00 host app: space after pri",
     "nil", 0, 0, 0LL},
    {"<16>1 2013-02-28T12:00:00.003Z 192.168.0.1 fluentd 11111 ID24224 [exampleSDID@20224 iut=\"3\" eventSource=\"Application\" eventID=\"11211\"] Hi, from Fluentd!",
     "{pri=i:16|host=192.168.0.1|ident=fluentd|pid=11111|msgid=ID24224|extradata=[exampleSDID@20224 iut=\"3\" eventSource=\"Application\" eventID=\"11211\"]|message=Hi, from Fluentd!}", 1362052800, 3000000, 0LL},
    {"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"][examplePriority@32473 class=\"high\"] message with two SD",
     "{pri=i:165|host=mymachine.example.com|ident=evntslog|pid=-|msgid=ID47|extradata=[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"][examplePriority@32473 class=\"high\"]|message=message with two SD}", 1065910455, 3000000, 0LL},
    {"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed",
     "{pri=i:34|host=mymachine.example.com|ident=su|pid=-|msgid=ID47|extradata=-|message='su root' failed}", 1065910455, 3000000, 0LL},
    {"<34>1 2003-10-11T22:14:15Z host app 123 - - no subseconds",
     "{pri=i:34|host=host|ident=app|pid=123|msgid=-|extradata=-|message=no subseconds}", 1065910455, 0, 0LL},
    {"<34>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.",
     "{pri=i:34|host=192.0.2.1|ident=myproc|pid=8710|msgid=-|extradata=-|message=%% It's time to make the do-nuts.}", 1061727255, 3000, 0LL},
    {"<34>1 2003-10-11T22:14:15.003Z host app 123 ID1 [a@1 x=\"y\\]z\"] escaped bracket",
     "{pri=i:34|host=host|ident=app|pid=123|msgid=ID1|extradata=[a@1 x=\"y\\]z\"]|message=escaped bracket}", 1065910455, 3000000, 0LL},
    {"<34>1 2003-10-11T22:14:15.003Z host app 123 ID1 [a@1 x=\"1\"]",
     "{pri=i:34|host=host|ident=app|pid=123|msgid=ID1|extradata=[a@1 x=\"1\"]}", 1065910455, 3000000, 0LL},
    {"<34>1 2003-10-11T22:14:15.003Z host app 123 ID1 -",
     "{pri=i:34|host=host|ident=app|pid=123|msgid=ID1|extradata=-}", 1065910455, 3000000, 0LL},
    {"<34>1 2003-10-11T22:14:15.003Z host app 123 ID1 - multi\nline message\n",
     "{pri=i:34|host=host|ident=app|pid=123|msgid=ID1|extradata=-|message=multi\nline message}", 1065910455, 3000000, 0LL},
    {"<34>1 2003-10-11T22:14:15.003Z host app 123",
     "nil", 0, 0, 0LL},
    {"<34>1 not-a-time host app 123 ID1 - x",
     "nil", 0, 0, 0LL},
};

static const struct sl_case t_autos[] = {
    {"<6>Feb 28 12:00:00 192.168.0.1 fluentd[11111]: [error] Syslog test",
     "{host=192.168.0.1|pri=i:6|ident=fluentd|pid=11111|message=[error] Syslog test}", 0, 0, 228120000LL},
    {"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
     "{host=mymachine|pri=i:34|ident=su|message='su root' failed for lonvick on /dev/pts/8}", 0, 0, 1011221415LL},
    {"<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!",
     "{host=10.0.0.99|pri=i:13|ident=Use|message=the BFG!}", 0, 0, 205173218LL},
    {"<13>Mar 11 08:00:00.5 web01 app[7]: sub-second with pri",
     "{host=web01|pri=i:13|ident=app|pid=7|message=sub-second with pri}", 0, 0, 311080000LL},
    {"<>Feb 28 12:00:00 host app: empty pri",
     "nil", 0, 0, 0LL},
    {"<1234>Feb 28 12:00:00 host app: four digit pri",
     "{host=host|pri=i:1234|ident=app|message=four digit pri}", 0, 0, 228120000LL},
    {"Feb 28 12:00:00 host app: no pri",
     "nil", 0, 0, 0LL},
    {"<7> Feb 28 12:00:00 host app: space after pri",
     "nil", 0, 0, 0LL},
    {"<16>1 2013-02-28T12:00:00.003Z 192.168.0.1 fluentd 11111 ID24224 [exampleSDID@20224 iut=\"3\" eventSource=\"Application\" eventID=\"11211\"] Hi, from Fluentd!",
     "{host=192.168.0.1|ident=fluentd|pid=11111|msgid=ID24224|pri=i:16|extradata=[exampleSDID@20224 iut=\"3\" eventSource=\"Application\" eventID=\"11211\"]|message=Hi, from Fluentd!}", 1362052800, 3000000, 0LL},
    {"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"][examplePriority@32473 class=\"high\"] message with two SD",
     "{host=mymachine.example.com|ident=evntslog|pid=-|msgid=ID47|pri=i:165|extradata=[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"][examplePriority@32473 class=\"high\"]|message=message with two SD}", 1065910455, 3000000, 0LL},
    {"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed",
     "{host=mymachine.example.com|ident=su|pid=-|msgid=ID47|pri=i:34|extradata=-|message='su root' failed}", 1065910455, 3000000, 0LL},
    {"<34>1 2003-10-11T22:14:15Z host app 123 - - no subseconds",
     "{host=host|ident=app|pid=123|msgid=-|pri=i:34|extradata=-|message=no subseconds}", 1065910455, 0, 0LL},
    {"<34>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.",
     "{host=192.0.2.1|ident=myproc|pid=8710|msgid=-|pri=i:34|extradata=-|message=%% It's time to make the do-nuts.}", 1061727255, 3000, 0LL},
    {"<34>1 2003-10-11T22:14:15.003Z host app 123 ID1 [a@1 x=\"y\\]z\"] escaped bracket",
     "{host=host|ident=app|pid=123|msgid=ID1|pri=i:34|extradata=[a@1 x=\"y]z\"]|message=escaped bracket}", 1065910455, 3000000, 0LL},
    {"<34>1 2003-10-11T22:14:15.003Z host app 123 ID1 [a@1 x=\"1\"]",
     "{host=host|ident=app|pid=123|msgid=ID1|pri=i:34|extradata=[a@1 x=\"1\"]}", 1065910455, 3000000, 0LL},
    {"<34>1 2003-10-11T22:14:15.003Z host app 123 ID1 -",
     "{host=host|ident=app|pid=123|msgid=ID1|pri=i:34|extradata=-}", 1065910455, 3000000, 0LL},
    {"<34>1 2003-10-11T22:14:15.003Z host app 123 ID1 - multi\nline message\n",
     "{host=host|ident=app|pid=123|msgid=ID1|pri=i:34|extradata=-|message=multi\nline message}", 1065910455, 3000000, 0LL},
    {"<34>1 2003-10-11T22:14:15.003Z host app 123",
     "nil", 0, 0, 0LL},
    {"<34>1 not-a-time host app 123 ID1 - x",
     "nil", 0, 0, 0LL},
};

static const struct sl_case t_keep[] = {
    {"<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!",
     "{pri=i:13|time=Feb 5 17:32:18|host=10.0.0.99|ident=Use|message=the BFG!}", 0, 0, 205173218LL},
    {"<16>1 2013-02-28T12:00:00.003Z 192.168.0.1 fluentd 11111 ID24224 [exampleSDID@20224 iut=\"3\" eventSource=\"Application\" eventID=\"11211\"] Hi, from Fluentd!",
     "{pri=i:16|time=2013-02-28T12:00:00.003Z|host=192.168.0.1|ident=fluentd|pid=11111|msgid=ID24224|extradata=[exampleSDID@20224 iut=\"3\" eventSource=\"Application\" eventID=\"11211\"]|message=Hi, from Fluentd!}", 1362052800, 3000000, 0LL},
};

static const struct sl_case t_keeps[] = {
    {"<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!",
     "{host=10.0.0.99|pri=i:13|ident=Use|message=the BFG!|time=Feb  5 17:32:18}", 0, 0, 205173218LL},
    {"<16>1 2013-02-28T12:00:00.003Z 192.168.0.1 fluentd 11111 ID24224 [exampleSDID@20224 iut=\"3\" eventSource=\"Application\" eventID=\"11211\"] Hi, from Fluentd!",
     "{host=192.168.0.1|ident=fluentd|pid=11111|msgid=ID24224|pri=i:16|extradata=[exampleSDID@20224 iut=\"3\" eventSource=\"Application\" eventID=\"11211\"]|message=Hi, from Fluentd!|time=2013-02-28T12:00:00.003Z}", 1362052800, 3000000, 0LL},
};

static int64_t expected_sec(const struct sl_case *c)
{
    time_t now = time(NULL);
    struct tm tm;
    long long y = c->yearless;

    if (y == 0) {
        return c->sec;
    }
    gmtime_r(&now, &tm);
    return sk_time_from_civil(tm.tm_year + 1900, (int)(y / 100000000), (int)(y / 1000000 % 100),
                              (int)(y / 10000 % 100), (int)(y / 100 % 100), (int)(y % 100));
}

static void run(const char *conf, const struct sl_case *c, size_t n)
{
    struct ph h;

    if (ph_open(&h, &sk_plugin_parser_syslog, conf) != 0) {
        ph_dump_diag(&h);
        fail_msg("init failed: %s", conf);
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(c[i].record, "nil") == 0) {
            ph_refuse(&h, c[i].line);
        } else {
            ph_expect(&h, c[i].line, c[i].record, expected_sec(&c[i]), c[i].nsec);
        }
    }
    ph_close(&h);
}

#define RUN(conf, t) run(conf, t, sizeof(t) / sizeof(t[0]))

static void test_rfc3164(void **state)
{
    (void)state;
    RUN("", t_3164);
    RUN("parser_engine string", t_3164s);
    RUN("parser_type string\nsupport_colonless_ident false", t_3164nc);
}

static void test_rfc3164_priority(void **state)
{
    (void)state;
    RUN("with_priority true", t_3164p);
    RUN("with_priority true\nparser_engine string", t_3164ps);
}

static void test_rfc5424(void **state)
{
    (void)state;
    RUN("with_priority true\nmessage_format rfc5424", t_5424);
    RUN("with_priority true\nmessage_format rfc5424\nparser_engine string", t_5424s);
}

static void test_auto(void **state)
{
    (void)state;
    RUN("with_priority true\nmessage_format auto", t_auto);
    RUN("with_priority true\nmessage_format auto\nparser_engine string", t_autos);
}

static void test_keep_time_key(void **state)
{
    (void)state;
    RUN("with_priority true\nmessage_format auto\nkeep_time_key true", t_keep);
    RUN("with_priority true\nmessage_format auto\nkeep_time_key true\nparser_engine string",
        t_keeps);
}

static void test_time_params(void **state)
{
    struct ph h;

    (void)state;
    /* another rfc3164 format: blanks are counted (4 here) */
    assert_int_equal(ph_open(&h, &sk_plugin_parser_syslog, "time_format %Y %b %d %H:%M:%S"), 0);
    ph_expect(&h, "2024 Feb 28 12:00:00 host app: x", "{host=host|ident=app|message=x}",
              1709121600, 0);
    ph_close(&h);
    /* ... which the string engine refuses when blanks repeat (Fluentd's
     * undefined variable), and reads otherwise */
    assert_int_equal(ph_open(&h, &sk_plugin_parser_syslog,
                             "time_format %Y %b %d %H:%M:%S\nparser_engine string"),
                     0);
    ph_expect(&h, "2024 Feb 28 12:00:00 host app: x", "{host=host|ident=app|message=x}",
              1709121600, 0);
    ph_refuse(&h, "2024 Feb  8 12:00:00 host app: x");
    ph_close(&h);
    /* rfc5424 with time_format: it replaces rfc5424_time_format */
    assert_int_equal(ph_open(&h, &sk_plugin_parser_syslog,
                             "message_format rfc5424\ntime_format %Y-%m-%dT%H:%M:%S%z"),
                     0);
    ph_expect(&h, "2003-10-11T22:14:15+00:00 h a 1 m - x",
              "{host=h|ident=a|pid=1|msgid=m|extradata=-|message=x}", 1065910455, 0);
    ph_close(&h);
    /* the zone for times without an offset */
    assert_int_equal(ph_open(&h, &sk_plugin_parser_syslog, "timezone +09:00"), 0);
    {
        struct sl_case c = {NULL, NULL, 0, 0, 228120000LL};

        ph_expect(&h, "Feb 28 12:00:00 h a: x", "{host=h|ident=a|message=x}",
                  expected_sec(&c) - 9 * 3600, 0);
    }
    ph_close(&h);
    /* types and null rules do not apply (Fluentd's syslog skips them) */
    assert_int_equal(ph_open(&h, &sk_plugin_parser_syslog,
                             "types pid:integer\nnull_value_pattern ^app$"),
                     0);
    ph_expect(&h, "Feb 28 12:00:00 h app[12]: x", "{host=h|ident=app|pid=12|message=x}",
              PH_ANY, 0);
    ph_close(&h);
}

static void test_bad_config(void **state)
{
    struct ph h;

    (void)state;
    assert_int_equal(ph_open(&h, &sk_plugin_parser_syslog, "message_format rfc9999"),
                     SK_ECONFIG);
    ph_close(&h);
    assert_int_equal(ph_open(&h, &sk_plugin_parser_syslog, "parser_engine fast"), SK_ECONFIG);
    ph_close(&h);
}

static void test_alloc_failures(void **state)
{
    int done = 0;

    (void)state;
    for (long step = 1; step < 400 && !done; step++) {
        struct ph h;
        int rc = ph_open_ex(&h, &sk_plugin_parser_syslog,
                            "with_priority true\nmessage_format auto\nkeep_time_key true", step);

        if (rc == 0) {
            rc = ph_parse_n(&h, t_auto[0].line, strlen(t_auto[0].line));
            if (rc == 0) {
                done = 1;
            } else {
                assert_int_equal(h.eb.count, 0);
            }
        }
        assert_true(rc == 0 || rc == SK_ENOMEM || rc == SK_ECONFIG);
        sk_alloc_fail_after(0, 0);
        ph_close(&h);
    }
    assert_true(done);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc3164),       cmocka_unit_test(test_rfc3164_priority),
        cmocka_unit_test(test_rfc5424),       cmocka_unit_test(test_auto),
        cmocka_unit_test(test_keep_time_key), cmocka_unit_test(test_time_params),
        cmocka_unit_test(test_bad_config),    cmocka_unit_test(test_alloc_failures),
    };

    setenv("TZ", "UTC", 1);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
