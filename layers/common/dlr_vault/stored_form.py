"""How the table keeps a report's JSON: zlib with a preset dictionary of Infobip's vocabulary.

A report is about 600 bytes of JSON, most of it field names, status and error texts that every
report repeats; in a write-once vault its storage is most of the bill (docs/capacity.md). Deflate
with a dictionary that already holds that vocabulary keeps only what is particular to the report
(its IDs, number, times). The text comes back byte for byte: zlib's checksum guards it.

Each value names its dictionary (zlib's DICTID, the dictionary's Adler-32, is in its header), so
a better dictionary can be added later without rewriting an item: readers keep every dictionary
ever written. Never edit one. Items written as plain JSON (before this form, or with
`StoredReportForm` json) are read as they are.
"""

from __future__ import annotations

import base64
import zlib
from typing import Any

# Infobip's SMS report fields in the order its pages send them (v1, then v3), and the status and
# error vocabulary of its docs. Rarer strings first: deflate reaches the end of a dictionary with
# the shortest distances. Only the exact bytes matter for reading, so this text is frozen.
_DICTIONARY_1 = "".join(
    (
        '"REJECTED_NETWORK","Network is forbidden","REJECTED_PREFIX_MISSING","Number prefix missing",',
        '"REJECTED_DND","Destination on DND list","REJECTED_SOURCE","Invalid Source address",',
        '"REJECTED_NOT_ENOUGH_CREDITS","Not enough credits","REJECTED_SENDER","By Sender",',
        '"REJECTED_DESTINATION","By Destination","REJECTED_PREPAID_PACKAGE_EXPIRED","Prepaid package expired",',
        '"REJECTED_DESTINATION_NOT_REGISTERED","Destination not registered","REJECTED_ROUTE_NOT_AVAILABLE",',
        '"Route not available","REJECTED_FLOODING_FILTER","Rejected flooding","REJECTED_SYSTEM_ERROR","System error",',
        '"REJECTED_DUPLICATE_MESSAGE_ID","Rejected duplicate message ID","REJECTED_INVALID_UDH","Rejected invalid UDH",',
        '"REJECTED_MESSAGE_TOO_LONG","Rejected message too long","MISSING_TO","Missing to",',
        '"REJECTED_INVALID_DESTINATION","Invalid destination address","EXPIRED_DLR_UNKNOWN","Expired DLR unknown",',
        '"UNDELIVERABLE_REJECTED_OPERATOR","Message rejected by operator","UNDELIVERABLE_NOT_DELIVERED",',
        '"Message sent not delivered","PENDING_ACCEPTED","Message accepted","PENDING_ENROUTE",',
        '"Message sent to next instance","PENDING_WAITING_DELIVERY","Message sent, waiting for delivery report",',
        '"EXPIRED_EXPIRED","Message expired","DELIVERED_TO_OPERATOR","Message delivered to operator",',
        '"EC_UNKNOWN_SUBSCRIBER","Unknown Subscriber","EC_ABSENT_SUBSCRIBER","Absent Subscriber",',
        '"EC_ILLEGAL_SUBSCRIBER","Illegal Subscriber","EC_TELESERVICE_NOT_PROVISIONED","Teleservice not provisioned",',
        '"EC_CALL_BARRED","Call barred","EC_SM_DELIVERY_FAILURE","SM delivery failure",',
        '"EC_MEMORY_CAPACITY_EXCEEDED","Memory capacity exceeded","EC_UNKNOWN_NETWORK","Unknown network",',
        '"HANDSET_ERRORS","USER_ERRORS","OPERATOR_ERRORS","UNDELIVERABLE","EXPIRED","REJECTED","PENDING",',
        '"action":"","recoveredFromLogs":true,"campaignReferenceId":"","entityId":"","applicationId":"",',
        '{"bulkId":"","messageId":"","to":"","from":"","sentAt":"","doneAt":"","smsCount":1,"mccMnc":"",',
        '"callbackData":"","price":{"pricePerMessage":0.0,"currency":"EUR"},"status":{"groupId":1,',
        '"groupName":"PENDING","id":7,"name":"PENDING_ENROUTE","description":"Message sent to next instance"},',
        '"error":{"groupId":0,"groupName":"Ok","id":0,"name":"NO_ERROR","description":"No Error","permanent":false}}',
        '{"bulkId":"","messageId":"","to":"","sender":"","sentAt":"2026-01-01T00:00:00.000+0000",',
        '"doneAt":"2026-01-01T00:00:00.000+0000","messageCount":1,"mccMnc":"","callbackData":"",',
        '"price":{"pricePerMessage":0.0,"currency":"EUR"},"status":{"groupId":3,"groupName":"DELIVERED","id":5,',
        '"name":"DELIVERED_TO_HANDSET","description":"Message delivered to handset"},"error":{"groupId":0,',
        '"groupName":"OK","id":0,"name":"NO_ERROR","description":"No Error","permanent":false},',
        '"platform":{"entityId":"","applicationId":""}}',
    )
).encode()
_DICTIONARIES = {zlib.adler32(_DICTIONARY_1): _DICTIONARY_1}
_CURRENT = _DICTIONARY_1
_HEADER = 2  # zlib's CMF and FLG bytes; with a preset dictionary, its DICTID follows


def pack(text: str) -> bytes:
    """The compressed form of a report's JSON text."""
    packer = zlib.compressobj(zdict=_CURRENT)  # level 9 makes nothing smaller at this size
    return packer.compress(text.encode()) + packer.flush()


def unpack(blob: bytes) -> str:
    """The JSON text `pack` was given, from the dictionary the blob names."""
    dictionary = _DICTIONARIES[int.from_bytes(blob[_HEADER : _HEADER + 4], "big")]
    unpacker = zlib.decompressobj(zlib.MAX_WBITS, dictionary)
    return (unpacker.decompress(blob) + unpacker.flush()).decode()


def report_value(text: str, *, compressed: bool) -> dict[str, str]:
    """The `report` attribute in DynamoDB's wire form: binary (base64 on the wire) or the plain text."""
    return {"B": base64.b64encode(pack(text)).decode("ascii")} if compressed else {"S": text}


def report_text(value: Any) -> str | None:
    """The report's JSON from a `report` attribute in any form: plain text, binary as boto3 gives it
    (bytes), or as DynamoDB's wire JSON and Lambda's stream records give it (base64). None if absent."""
    if not isinstance(value, dict):
        return None
    if "S" in value:
        return str(value["S"])
    blob = value.get("B")
    if blob is None:
        return None
    return unpack(blob if isinstance(blob, bytes) else base64.b64decode(blob))
