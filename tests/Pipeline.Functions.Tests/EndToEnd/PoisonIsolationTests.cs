using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Pipeline.Functions.Functions;
using Pipeline.Functions.Tests.Domain;
using Pipeline.Functions.Tests.Refine;
using Pipeline.Functions.Transactions;
using Pipeline.Providers.Abstractions;
using Pipeline.Providers.Embedded;
using Pipeline.Providers.Postgres;
using Pipeline.TestKit.Emulators;

namespace Pipeline.Functions.Tests.EndToEnd;

/// <summary>
/// A row the REAL warehouse refuses (a SQLite trigger, a PostgreSQL CHECK constraint, a NUL byte) fails only the message
/// that holds it; the other messages of the batch load. Errors that say nothing about the rows fail the whole batch.
/// </summary>
public sealed class PoisonIsolationTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private const string Poison = "TX-07";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("embedded")]
    [InlineData("postgres")]
    public async Task RunAsync_WarehouseRefusesOneMessagesRow_NineLoadAndThatOneFailsWithTheWarehouseError(string warehouse)
    {
        await using var bed = await LoadBed.CreateAsync(warehouse == "postgres" ? postgres : null);
        await bed.RefuseAsync(Poison);
        var messages = TenMessages();

        var result = await bed.Load.RunAsync(messages, Ct);

        var failure = Assert.Single(result.Failures);
        Assert.Equal(messages[6].MessageId, failure.MessageId);
        Assert.Equal(typeof(WarehouseRejectedException).FullName, failure.ErrorType);
        Assert.Contains(warehouse == "postgres" ? "no_poison" : "refused by the warehouse trigger", failure.Reason, StringComparison.Ordinal);
        Assert.Equal(
            Enumerable.Range(1, 10).Where(i => i != 7).Select(i => $"TX-{i:00}"),
            await bed.TransactionIdsAsync());
    }

    [Theory]
    [InlineData("embedded")]
    [InlineData("postgres")]
    public async Task RunAsync_WarehouseRefusesThreeMessagesRows_SevenLoadAndEachCulpritFails(string warehouse)
    {
        await using var bed = await LoadBed.CreateAsync(warehouse == "postgres" ? postgres : null);
        await bed.RefuseAsync("TX-01", "TX-02", "TX-10");
        var messages = TenMessages();

        var result = await bed.Load.RunAsync(messages, Ct);

        Assert.Equal(new[] { messages[0].MessageId, messages[1].MessageId, messages[9].MessageId }, result.Failures.Select(f => f.MessageId).Order(StringComparer.Ordinal));
        Assert.Equal(7, (await bed.TransactionIdsAsync()).Count);
    }

    [Fact]
    public async Task RunAsync_NulByteInTraderIdOnPostgres_OnlyThatMessageFails()
    {
        // A real value PostgreSQL refuses (22021). Validation may come to reject it earlier; either way it fails alone.
        await using var bed = await LoadBed.CreateAsync(postgres);
        var messages = TenMessages(t => t.TransactionId == Poison ? t with { TraderId = "trader\0one" } : t);

        var result = await bed.Load.RunAsync(messages, Ct);

        var failure = Assert.Single(result.Failures);
        Assert.Equal(messages[6].MessageId, failure.MessageId);
        Assert.Equal(9, (await bed.TransactionIdsAsync()).Count);
    }

    [Fact]
    public async Task RunAsync_WarehouseBusy_WholeBatchFailsNothingIsolated()
    {
        // SQLITE_BUSY is transient: the batch must fail as a whole (every message retried), not be bisected into culprits.
        await using var bed = await LoadBed.CreateAsync(null, busyTimeout: TimeSpan.FromSeconds(1));
        await using (var holder = new SqliteConnection($"Data Source={bed.SqlitePath}"))
        {
            await holder.OpenAsync(Ct);
            await using var lockTx = (SqliteTransaction)await holder.BeginTransactionAsync(Ct);
            await using (var write = holder.CreateCommand())
            {
                write.Transaction = lockTx;
                write.CommandText = "DELETE FROM transactions;";
                await write.ExecuteNonQueryAsync(Ct);
            }

            var error = await Assert.ThrowsAnyAsync<WarehouseException>(() => bed.Load.RunAsync(TenMessages(), Ct));
            Assert.IsNotType<WarehouseRejectedException>(error);
        }

        Assert.Empty(await bed.TransactionIdsAsync());
    }

    [Fact]
    public async Task RunAsync_ConnectionKilledDuringMergeOnPostgres_WholeBatchFails()
    {
        await using var bed = await LoadBed.CreateAsync(postgres);
        await using var holder = new NpgsqlConnection(postgres.ConnectionString);
        await holder.OpenAsync(Ct);
        await using (var lockTx = await holder.BeginTransactionAsync(Ct))
        {
            await using (var take = new NpgsqlCommand($"LOCK TABLE {bed.Schema}.transactions IN ACCESS EXCLUSIVE MODE", holder, lockTx))
            {
                await take.ExecuteNonQueryAsync(Ct);
            }

            var load = bed.Load.RunAsync(TenMessages(), Ct);

            // The merge waits for the lock; kill its connection (as a failover or an idle-killer would).
            var killed = false;
            for (var i = 0; i < 100 && !killed; i++)
            {
                await using var kill = new NpgsqlCommand(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()", holder, lockTx);
                killed = (long)(await kill.ExecuteScalarAsync(Ct))! > 0;
                if (!killed)
                {
                    await Task.Delay(50, Ct);
                }
            }

            Assert.True(killed, "the merge never waited for the lock");
            var error = await Assert.ThrowsAnyAsync<Exception>(() => load);
            Assert.IsNotType<WarehouseRejectedException>(error);
        }

        Assert.Empty(await bed.TransactionIdsAsync());
    }

    [Fact]
    public async Task Run_WarehouseRefusesOneTrade_ItsMessageDeadLetteredWithTheWarehouseErrorRestLoadedAndReconciled()
    {
        // Through the host: after maxDequeueCount (2) the culprit goes to the dead-letter queue with the warehouse's error.
        const int records = 100;
        const string queue = "transactions-enriched.fifo";
        await using var harness = new PipelineHarness(new Dictionary<string, string?> { ["Enrichment:ClaimCheckMinRecords"] = "1000" });
        var path = Path.GetTempFileName();
        try
        {
            BenchCommand.Generate(path, 0, records, TestData.Reference.Leis.Keys.Order(StringComparer.Ordinal).ToArray(), TestData.Reference.UsdPerUnit.Keys.Order().ToArray());
            await using var enrichOnly = await harness.BuildAsync(["EnrichTransactions"]);
            await PipelineHarness.UploadReferenceAsync(enrichOnly, Ct);
            await enrichOnly.Services.GetRequiredService<WarehouseTables>().EnsureAsync(Ct);
            await enrichOnly.Services.GetRequiredService<IMessageQueue>().EnsureQueueAsync(new QueueDefinition(queue, enrichOnly.DeadLetterQueueFor(queue), 2), Ct);
            await PipelineHarness.PutAsync(enrichOnly, "transactions/trades.ndjson", await File.ReadAllBytesAsync(path, Ct), Ct);
            await enrichOnly.StartAsync(Ct);
            await enrichOnly.WaitUntilIdleAsync(TimeSpan.FromSeconds(30), Ct);
            await enrichOnly.StopAsync(Ct);
        }
        finally
        {
            File.Delete(path);
        }

        await using (var connection = new SqliteConnection($"Data Source={Path.Combine(harness.DataRoot, "warehouse.db")}"))
        {
            await connection.OpenAsync(Ct);
            await using var command = connection.CreateCommand();
            command.CommandText = "CREATE TRIGGER no_poison BEFORE INSERT ON transactions WHEN NEW.transaction_id = 'TX-B-000000007' BEGIN SELECT RAISE(ABORT, 'refused by the warehouse trigger'); END;";
            await command.ExecuteNonQueryAsync(Ct);
        }

        SqliteConnection.ClearAllPools();
        await using (var loadOnly = await harness.BuildAsync(["LoadTransactions"]))
        {
            await loadOnly.StartAsync(Ct);
            await loadOnly.WaitUntilIdleAsync(TimeSpan.FromSeconds(60), Ct);
            await loadOnly.StopAsync(Ct);
        }

        var summary = await harness.SummaryAsync(Ct);
        Assert.Equal(1, summary.DeadLettered);
        Assert.Equal(records - 1, summary.Loaded);
        Assert.True(summary.Reconciled, RunCommand.ToJson(summary, 0, 0));

        await using var reader = harness.BuildServices();
        var dead = Assert.Single(await reader.Services.GetRequiredService<IMessageQueue>().ReceiveAsync(reader.DeadLetterQueueFor(queue), new ReceiveOptions { MaxMessages = 10 }, Ct));
        Assert.Contains("TX-B-000000007", dead.Body, StringComparison.Ordinal);
        Assert.Contains("refused by the warehouse trigger", dead.Attributes["pipeline-error"], StringComparison.Ordinal);
        Assert.Equal(typeof(WarehouseRejectedException).FullName, dead.Attributes["pipeline-error-type"]);
    }

    /// <summary>Ten inline messages of one valid trade each (TX-01 … TX-10), each its own account and FIFO group.</summary>
    private static List<ReceivedMessage> TenMessages(Func<EnrichedTransaction, EnrichedTransaction>? change = null)
    {
        var messages = new List<ReceivedMessage>();
        for (var i = 1; i <= 10; i++)
        {
            var id = $"TX-{i:00}";
            var account = $"ACC-{i:00}";
            var trade = RefineTestBed.Trade(id, "2026-11-20", account, RefineTestBed.Northwind, RefineScenario.Apple, "BUY", 10m, 100m)
                with { GroupId = account, RecordNumber = i };
            trade = change?.Invoke(trade) ?? trade;
            var content = Enricher.ContentHash(trade);
            trade = trade with { ContentHash = content, DedupId = Enricher.DedupId(id, 1, content) };
            var body = JsonSerializer.Serialize(
                new EnrichedBatchMessage { Schema = EnrichedBatchMessage.CurrentSchema, SourceKey = trade.SourceKey, SourceEtag = trade.SourceEtag, Chunk = i - 1, Records = [trade] },
                TransactionJsonContext.Default.EnrichedBatchMessage);
            messages.Add(new ReceivedMessage($"m-{i:00}", $"r-{i:00}", body, 1, account, trade.DedupId, new Dictionary<string, string>(), DateTimeOffset.UnixEpoch));
        }

        return messages;
    }

    /// <summary>LoadTransactions over the embedded providers, with the embedded or a PostgreSQL warehouse (own schema).</summary>
    private sealed class LoadBed : IAsyncDisposable
    {
        private readonly string root;
        private readonly ServiceProvider services;
        private readonly string? connectionString;

        private LoadBed(string root, ServiceProvider services, string? connectionString, string schema)
        {
            this.root = root;
            this.services = services;
            this.connectionString = connectionString;
            Schema = schema;
            Load = ActivatorUtilities.CreateInstance<LoadTransactions>(services, NullLogger<LoadTransactions>.Instance);
        }

        public LoadTransactions Load { get; }

        public string Schema { get; }

        public string SqlitePath => Path.Combine(root, "warehouse.db");

        private IWarehouse Warehouse => services.GetRequiredService<IWarehouse>();

        public static async Task<LoadBed> CreateAsync(PostgresFixture? postgres, TimeSpan? busyTimeout = null)
        {
            postgres?.RequireAvailable();
            var root = Path.Combine(Path.GetTempPath(), "pipeline-poison-" + Guid.NewGuid().ToString("N")[..12]);
            var schema = "poison_" + Guid.NewGuid().ToString("N")[..12];
            var settings = new Dictionary<string, string?>
            {
                ["Embedded:DataRoot"] = root,
                ["Embedded:BusyTimeout"] = (busyTimeout ?? TimeSpan.FromSeconds(30)).ToString("c", System.Globalization.CultureInfo.InvariantCulture),
                ["Zones:Raw"] = "raw",
                ["Zones:Prepare"] = "prepare",
                ["Zones:Quarantine"] = "quarantine",
                ["Zones:Reference"] = "reference",
                ["Queues:Enriched"] = "transactions-enriched.fifo",
            };
            if (postgres is not null)
            {
                settings["Postgres:ConnectionString"] = postgres.ConnectionString;
                settings["Postgres:Schema"] = schema;
            }

            var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
            var collection = new ServiceCollection();
            collection.AddSingleton<IConfiguration>(configuration);
            collection.AddLogging();
            collection.AddEmbeddedProviders(configuration);
            if (postgres is not null)
            {
                collection.AddPostgresWarehouse(configuration);
            }

            PipelineServices.Add(collection, configuration);
            var bed = new LoadBed(root, collection.BuildServiceProvider(), postgres?.ConnectionString, schema);
            await bed.services.GetRequiredService<WarehouseTables>().EnsureAsync(Ct);
            return bed;
        }

        /// <summary>Makes the warehouse itself refuse rows of these transactions: a trigger (SQLite), a CHECK constraint (PostgreSQL).</summary>
        public async Task RefuseAsync(params string[] transactionIds)
        {
            var list = string.Join(", ", transactionIds.Select(id => $"'{id}'"));
            if (connectionString is null)
            {
                await using var connection = new SqliteConnection($"Data Source={SqlitePath}");
                await connection.OpenAsync(Ct);
                await using var command = connection.CreateCommand();
                command.CommandText = $"CREATE TRIGGER no_poison BEFORE INSERT ON transactions WHEN NEW.transaction_id IN ({list}) BEGIN SELECT RAISE(ABORT, 'refused by the warehouse trigger'); END;";
                await command.ExecuteNonQueryAsync(Ct);
            }
            else
            {
                await using var connection = new NpgsqlConnection(connectionString);
                await connection.OpenAsync(Ct);
                await using var command = new NpgsqlCommand($"ALTER TABLE {Schema}.transactions ADD CONSTRAINT no_poison CHECK (transaction_id NOT IN ({list}))", connection);
                await command.ExecuteNonQueryAsync(Ct);
            }
        }

        public async Task<List<string>> TransactionIdsAsync()
        {
            var result = await Warehouse.QueryAsync("SELECT transaction_id FROM transactions ORDER BY transaction_id", null, Ct);
            return result.Rows.Select(r => (string)r[0]!).ToList();
        }

        public async ValueTask DisposeAsync()
        {
            await services.DisposeAsync();
            SqliteConnection.ClearAllPools();
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }
}
