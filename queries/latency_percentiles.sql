-- Seconds from sentAt to doneAt per day (newest report per message): median, p90, p99.
WITH latest AS (
    SELECT *, row_number() OVER (PARTITION BY messageId ORDER BY parse_datetime(doneAt, 'yyyy-MM-dd''T''HH:mm:ss.SSSZ') DESC) AS rn
    FROM reports
), timed AS (
    SELECT
        date(parse_datetime(sentAt, 'yyyy-MM-dd''T''HH:mm:ss.SSSZ') AT TIME ZONE 'UTC') AS day,
        date_diff('millisecond', parse_datetime(sentAt, 'yyyy-MM-dd''T''HH:mm:ss.SSSZ'), parse_datetime(doneAt, 'yyyy-MM-dd''T''HH:mm:ss.SSSZ')) / 1000.0 AS seconds
    FROM latest
    WHERE rn = 1
)
SELECT
    day,
    count(*) AS messages,
    round(approx_percentile(seconds, 0.5), 1) AS p50_seconds,
    round(approx_percentile(seconds, 0.9), 1) AS p90_seconds,
    round(approx_percentile(seconds, 0.99), 1) AS p99_seconds
FROM timed
GROUP BY day
ORDER BY day
