-- One bulk's outcome (the bulkId is the query's one parameter): messages by status group and price.
WITH latest AS (
    SELECT *, row_number() OVER (PARTITION BY messageId ORDER BY parse_datetime(doneAt, 'yyyy-MM-dd''T''HH:mm:ss.SSSZ') DESC) AS rn
    FROM reports
    WHERE bulkId = ?
)
SELECT
    upper(status.groupName) AS status_group,
    count(*) AS messages,
    round(sum(price.pricePerMessage * coalesce(smsCount, messageCount, 1)), 4) AS total_price
FROM latest
WHERE rn = 1
GROUP BY 1
ORDER BY 1
