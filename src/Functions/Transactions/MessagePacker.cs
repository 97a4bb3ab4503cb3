using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Functions.Transactions;

/// <summary>
/// Packs enriched records into inline FIFO messages: records of one account per message (message group = the
/// account, see <see cref="MessageGroups"/>), under the SQS size limit. Used for small files only: a file with many
/// records travels as claim checks (<see cref="ChunkBuilder"/>), so one message per account stays cheap.
/// Everything is a function of the input order, so re-running the same object yields the same messages and deduplication ids: a message's dedup id is the
/// SHA-256 of its source object and its records' dedup ids in order (<see cref="SourceDedupId"/>).
/// </summary>
public sealed class MessagePacker
{
    private static readonly byte[] Separator = ","u8.ToArray();
    private readonly string sourceKey;
    private readonly string sourceEtag;
    private readonly int maxRecords;
    private readonly int maxBytes;
    private readonly int maxBufferedRecords;
    private readonly Dictionary<string, Group> groups = new(StringComparer.Ordinal);
    private readonly List<string> groupOrder = [];
    private int buffered;
    private int chunk;

    public MessagePacker(string sourceKey, string sourceEtag, int maxRecords = 250, int maxBytes = 200_000, int maxBufferedRecords = 20_000)
    {
        this.sourceKey = sourceKey;
        this.sourceEtag = sourceEtag;
        this.maxRecords = maxRecords;
        this.maxBytes = Math.Min(maxBytes, QueueLimits.MaxMessageBytes - 4096);
        this.maxBufferedRecords = maxBufferedRecords;
    }

    /// <summary>Messages produced so far.</summary>
    public int MessageCount => chunk;

    /// <summary>Adds a record; returns the messages that became full (possibly none).</summary>
    public IReadOnlyList<OutgoingMessage> Add(EnrichedTransaction record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var json = JsonSerializer.SerializeToUtf8Bytes(record, TransactionJsonContext.Default.EnrichedTransaction);
        List<OutgoingMessage>? ready = null;
        var groupId = MessageGroups.ForAccount(record.AccountId);
        if (!groups.TryGetValue(groupId, out var group))
        {
            group = new Group(groupId);
            groups[groupId] = group;
            groupOrder.Add(groupId);
        }

        if (group.Records.Count > 0 && (group.Records.Count >= maxRecords || group.Bytes + json.Length + 1 > maxBytes))
        {
            (ready ??= []).Add(Seal(group));
        }

        group.Records.Add(json);
        group.DedupIds.Add(record.DedupId);
        group.Bytes += json.Length + 1;
        buffered++;

        if (buffered >= maxBufferedRecords)
        {
            // Bound memory when there are many accounts: flush everything, in first-seen order.
            (ready ??= []).AddRange(Flush());
        }

        return (IReadOnlyList<OutgoingMessage>?)ready ?? [];
    }

    /// <summary>Seals every non-empty group, in the order the groups were first seen.</summary>
    public IReadOnlyList<OutgoingMessage> Flush()
    {
        var ready = new List<OutgoingMessage>();
        foreach (var id in groupOrder)
        {
            var group = groups[id];
            if (group.Records.Count > 0)
            {
                ready.Add(Seal(group));
            }
        }

        groups.Clear();
        groupOrder.Clear();
        return ready;
    }

    private OutgoingMessage Seal(Group group)
    {
        var index = chunk++;
        using var body = new MemoryStream(group.Bytes + 256);
        using (var writer = new Utf8JsonWriter(body))
        {
            writer.WriteStartObject();
            writer.WriteString("schema", EnrichedBatchMessage.CurrentSchema);
            writer.WriteString("source_key", sourceKey);
            writer.WriteString("source_etag", sourceEtag);
            writer.WriteNumber("chunk", index);
            writer.WritePropertyName("records");
            writer.Flush();
            body.WriteByte((byte)'[');
            for (var i = 0; i < group.Records.Count; i++)
            {
                if (i > 0)
                {
                    body.Write(Separator);
                }

                body.Write(group.Records[i]);
            }

            body.WriteByte((byte)']');
            body.WriteByte((byte)'}');
        }

        var dedup = SourceDedupId(sourceKey, sourceEtag, MessageDedupId(group.DedupIds));
        buffered -= group.Records.Count;
        group.Records.Clear();
        group.DedupIds.Clear();
        group.Bytes = 0;
        return new OutgoingMessage(Encoding.UTF8.GetString(body.GetBuffer(), 0, (int)body.Length), group.Id, dedup)
        {
            EntryId = index.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
    }

    /// <summary>SHA-256 hex of the records' dedup ids joined by '\n', in message order (a chunk's records_sha256).</summary>
    public static string MessageDedupId(IEnumerable<string> recordDedupIds)
    {
        ArgumentNullException.ThrowIfNull(recordDedupIds);

        // Hashed id by id (the same bytes as the joined text), without building the text: a chunk has thousands of ids.
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(512);
        try
        {
            var first = true;
            foreach (var id in recordDedupIds)
            {
                if (!first)
                {
                    hash.AppendData("\n"u8);
                }

                first = false;
                var needed = Encoding.UTF8.GetMaxByteCount(id.Length);
                if (needed > buffer.Length)
                {
                    System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
                    buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(needed);
                }

                hash.AppendData(buffer, 0, Encoding.UTF8.GetBytes(id, buffer));
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>
    /// A message's FIFO dedup id: SHA-256 hex of source key, U+001F, source ETag, U+001F, <see cref="MessageDedupId"/>.
    /// The source is part of it so that the same records read from ANOTHER object are not dropped by deduplication
    /// inside the 5-minute window: the warehouse's tie-break (not the window) then chooses their lineage, the same
    /// way whenever they arrive. A re-run of the same object still sends the same ids.
    /// </summary>
    public static string SourceDedupId(string sourceKey, string sourceEtag, string recordsSha256) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{sourceKey}\u001f{sourceEtag}\u001f{recordsSha256}")));

    private sealed class Group(string id)
    {
        public string Id { get; } = id;

        public List<byte[]> Records { get; } = [];

        public List<string> DedupIds { get; } = [];

        public int Bytes { get; set; }
    }
}
