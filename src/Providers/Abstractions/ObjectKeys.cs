namespace Pipeline.Providers.Abstractions;

/// <summary>The one key rule every store applies, so a key valid on disk is valid on S3 and back.</summary>
public static class ObjectKeys
{
    public const int MaxKeyBytes = 1024;

    /// <summary>Throws <see cref="InvalidObjectKeyException"/> unless <paramref name="key"/> is a safe relative key.</summary>
    public static void Validate(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length == 0)
        {
            throw new InvalidObjectKeyException(key, "it is empty");
        }

        if (System.Text.Encoding.UTF8.GetByteCount(key) > MaxKeyBytes)
        {
            throw new InvalidObjectKeyException(key, $"it is longer than {MaxKeyBytes} UTF-8 bytes");
        }

        foreach (var c in key)
        {
            if (c == '\0')
            {
                throw new InvalidObjectKeyException(key, "it contains a NUL character");
            }

            if (char.IsControl(c))
            {
                throw new InvalidObjectKeyException(key, "it contains a control character");
            }

            if (c == '\\')
            {
                throw new InvalidObjectKeyException(key, "it contains a backslash");
            }
        }

        if (key[0] == '/' || (key.Length > 1 && key[1] == ':'))
        {
            throw new InvalidObjectKeyException(key, "it is an absolute path");
        }

        foreach (var segment in key.Split('/'))
        {
            if (segment is ".." or ".")
            {
                throw new InvalidObjectKeyException(key, $"it contains a '{segment}' segment");
            }

            if (segment.Length == 0 && !ReferenceEquals(segment, key))
            {
                // Only a trailing '/' is tolerated nowhere: objects are files, not folders.
                throw new InvalidObjectKeyException(key, "it contains an empty segment ('//' or a trailing '/')");
            }
        }
    }

    public static bool IsValid(string key)
    {
        try
        {
            Validate(key);
            return true;
        }
        catch (InvalidObjectKeyException)
        {
            return false;
        }
    }
}
