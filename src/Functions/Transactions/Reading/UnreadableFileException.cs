namespace Pipeline.Functions.Transactions.Reading;

/// <summary>The whole file cannot be read as transactions; it is quarantined whole.</summary>
public sealed class UnreadableFileException : Exception
{
    public UnreadableFileException(string reason, long? line = null, long? bytePosition = null, Exception? innerException = null)
        : base(Describe(reason, line, bytePosition), innerException)
    {
        Reason = reason;
        Line = line;
        BytePosition = bytePosition;
    }

    public string Reason { get; }

    /// <summary>1-based line of the problem, when known.</summary>
    public long? Line { get; }

    /// <summary>0-based byte offset of the problem in the (decompressed) content, when known.</summary>
    public long? BytePosition { get; }

    private static string Describe(string reason, long? line, long? bytePosition)
    {
        var where = (line, bytePosition) switch
        {
            (not null, not null) => $" (line {line}, byte {bytePosition})",
            (not null, null) => $" (line {line})",
            (null, not null) => $" (byte {bytePosition})",
            _ => string.Empty,
        };
        return reason + where;
    }
}
