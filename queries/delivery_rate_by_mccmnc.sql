-- Delivery rate by mobile country and network code (mccMnc): each message once, newest report.
WITH latest AS (
    SELECT *, row_number() OVER (PARTITION BY messageId ORDER BY parse_datetime(doneAt, 'yyyy-MM-dd''T''HH:mm:ss.SSSZ') DESC) AS rn
    FROM reports
)
SELECT
    coalesce(mccMnc, 'unknown') AS mcc_mnc,
    count(*) AS messages,
    count_if(upper(status.groupName) = 'DELIVERED') AS delivered,
    round(100.0 * count_if(upper(status.groupName) = 'DELIVERED') / count(*), 2) AS delivery_rate_percent
FROM latest
WHERE rn = 1
GROUP BY 1
ORDER BY messages DESC, mcc_mnc
