-- Delivery outcome per day and status group: each message counted once, by its newest report.
WITH latest AS (
    SELECT *, row_number() OVER (PARTITION BY messageId ORDER BY parse_datetime(doneAt, 'yyyy-MM-dd''T''HH:mm:ss.SSSZ') DESC) AS rn
    FROM reports
)
SELECT
    date(parse_datetime(sentAt, 'yyyy-MM-dd''T''HH:mm:ss.SSSZ') AT TIME ZONE 'UTC') AS day,
    upper(status.groupName) AS status_group,
    count(*) AS messages,
    round(100.0 * count(*) / sum(count(*)) OVER (PARTITION BY date(parse_datetime(sentAt, 'yyyy-MM-dd''T''HH:mm:ss.SSSZ') AT TIME ZONE 'UTC')), 2) AS percent
FROM latest
WHERE rn = 1
GROUP BY 1, 2
ORDER BY 1, 2
