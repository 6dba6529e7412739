// Generates the golden transform output from the real Kafka Connect jars.
//
//   java -Duser.timezone=UTC -cp "<kafka lib>/*" Generator.java <golden dir>
//
// Reads <golden dir>/cases.json (the language-neutral case list, see
// README.md), runs every case through Kafka Connect's own classes (the
// transformations and predicates, ConnectorConfig for chains and for
// validation, Plugins for the plugin list) and writes what they produced to
// <golden dir>/expected.json. Run it through generate.sh.

import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigValue;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.utils.AppInfoParser;

import org.apache.kafka.connect.connector.ConnectRecord;
import org.apache.kafka.connect.data.Date;
import org.apache.kafka.connect.data.Decimal;
import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.data.Time;
import org.apache.kafka.connect.data.Timestamp;
import org.apache.kafka.connect.header.ConnectHeaders;
import org.apache.kafka.connect.header.Header;
import org.apache.kafka.connect.header.Headers;
import org.apache.kafka.connect.runtime.AbstractHerder;
import org.apache.kafka.connect.runtime.ConnectMetrics;
import org.apache.kafka.connect.runtime.ConnectorConfig;
import org.apache.kafka.connect.runtime.SinkConnectorConfig;
import org.apache.kafka.connect.runtime.TransformationStage;
import org.apache.kafka.connect.runtime.isolation.LoaderSwap;
import org.apache.kafka.connect.runtime.isolation.PluginDesc;
import org.apache.kafka.connect.runtime.isolation.Plugins;
import org.apache.kafka.connect.runtime.standalone.StandaloneConfig;
import org.apache.kafka.connect.sink.SinkRecord;
import org.apache.kafka.connect.source.SourceRecord;
import org.apache.kafka.connect.transforms.Transformation;
import org.apache.kafka.connect.transforms.predicates.Predicate;
import org.apache.kafka.connect.util.ConnectorTaskId;

import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

public class Generator {
    static final ObjectMapper MAPPER = new ObjectMapper();
    static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    static final String TRANSFORMS_PACKAGE = "org.apache.kafka.connect.transforms.";
    static final String PREDICATES_PACKAGE = "org.apache.kafka.connect.transforms.predicates.";

    static JsonNode spec;
    static Plugins plugins;
    static ConnectMetrics metrics;

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args.length > 0 ? args[0] : ".");
        spec = MAPPER.readTree(dir.resolve("cases.json").toFile());

        ArrayNode results = NODES.arrayNode();
        for (JsonNode c : spec.get("cases")) {
            try {
                results.add(runCase(c));
            } catch (RuntimeException e) {
                throw new IllegalStateException("case " + c.get("name") + " cannot be built", e);
            }
        }

        ObjectNode root = NODES.objectNode();
        root.put("generator", "crates/ferry-transforms/golden/Generator.java");
        root.put("kafka", AppInfoParser.getVersion());
        root.put("java", System.getProperty("java.version"));
        root.set("plugins", describePlugins());
        root.set("results", results);
        DefaultPrettyPrinter pp = new DefaultPrettyPrinter();
        pp.indentArraysWith(DefaultIndenter.SYSTEM_LINEFEED_INSTANCE);
        String json = MAPPER.writer(pp).writeValueAsString(root) + "\n";
        Files.writeString(dir.resolve("expected.json"), json.replace("\r\n", "\n"));
        if (metrics != null) {
            metrics.stop();
        }
    }

    static Plugins plugins() {
        if (plugins == null) {
            plugins = new Plugins(Map.of());
        }
        return plugins;
    }

    static ConnectMetrics metrics() {
        if (metrics == null) {
            Map<String, String> worker = new HashMap<>();
            worker.put("bootstrap.servers", "localhost:9092");
            worker.put("key.converter", "org.apache.kafka.connect.json.JsonConverter");
            worker.put("value.converter", "org.apache.kafka.connect.json.JsonConverter");
            worker.put("offset.storage.file.filename", "/dev/null");
            metrics = new ConnectMetrics("golden", new StandaloneConfig(worker), org.apache.kafka.common.utils.Time.SYSTEM, "golden");
        }
        return metrics;
    }

    static String transformClass(String name) {
        return name.contains(".") ? name : TRANSFORMS_PACKAGE + name;
    }

    static String predicateClass(String name) {
        return name.contains(".") ? name : PREDICATES_PACKAGE + name;
    }

    static Map<String, String> strings(JsonNode n) {
        Map<String, String> m = new LinkedHashMap<>();
        if (n != null) {
            n.properties().forEach(e -> m.put(e.getKey(), e.getValue().asText()));
        }
        return m;
    }

    static ObjectNode runCase(JsonNode c) throws RuntimeException {
        ObjectNode r = NODES.objectNode();
        r.put("case", c.get("name").asText());
        try {
            if (c.has("transform")) {
                runTransform(c, r);
            } else if (c.has("predicate")) {
                runPredicate(c, r);
            } else if (c.has("chain")) {
                runChain(c, r);
            } else if (c.has("validate")) {
                runValidate(c, r);
            } else {
                throw new IllegalArgumentException("case " + c.get("name") + " has no kind");
            }
        } catch (ReflectiveOperationException e) {
            throw new RuntimeException(e);
        }
        return r;
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    static void runTransform(JsonNode c, ObjectNode r) throws ReflectiveOperationException {
        Transformation t = (Transformation) Class.forName(transformClass(c.get("transform").asText()))
            .getDeclaredConstructor().newInstance();
        try {
            t.configure(strings(c.get("config")));
        } catch (Exception e) {
            r.set("config_error", error(e));
            return;
        }
        ArrayNode outs = r.putArray("results");
        for (JsonNode name : c.get("records")) {
            ConnectRecord rec = buildRecord(name.asText());
            ObjectNode o = outs.addObject();
            o.put("record", name.asText());
            try {
                ConnectRecord out = t.apply(rec);
                if (out == null) {
                    o.put("dropped", true);
                } else {
                    o.set("out", describeRecord(out));
                }
            } catch (Exception e) {
                o.set("error", error(e));
            }
        }
        t.close();
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    static void runPredicate(JsonNode c, ObjectNode r) throws ReflectiveOperationException {
        Predicate p = (Predicate) Class.forName(predicateClass(c.get("predicate").asText()))
            .getDeclaredConstructor().newInstance();
        try {
            p.configure(strings(c.get("config")));
        } catch (Exception e) {
            r.set("config_error", error(e));
            return;
        }
        ArrayNode outs = r.putArray("results");
        for (JsonNode name : c.get("records")) {
            ObjectNode o = outs.addObject();
            o.put("record", name.asText());
            try {
                o.put("test", p.test(buildRecord(name.asText())));
            } catch (Exception e) {
                o.set("error", error(e));
            }
        }
        p.close();
    }

    /** The keys every connector config needs; the case adds its own. */
    static Map<String, String> connectorProps(JsonNode extra) {
        Map<String, String> props = new LinkedHashMap<>();
        props.put("name", "golden");
        props.put("connector.class", "org.apache.kafka.connect.file.FileStreamSinkConnector");
        props.put("topics", "golden");
        props.putAll(strings(extra));
        return props;
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    static void runChain(JsonNode c, ObjectNode r) {
        Map<String, String> props = connectorProps(c.get("chain"));
        List<TransformationStage> stages;
        // As the worker does, with the plugin loader as the context class
        // loader, which is what resolves aliases such as RegexRouter.
        try (LoaderSwap swap = plugins().withClassLoader(plugins().delegatingLoader())) {
            ConnectorConfig config = new ConnectorConfig(plugins(), props);
            stages = (List) config.transformationStages(plugins(), new ConnectorTaskId("golden", 0), metrics());
        } catch (Exception e) {
            r.set("chain_error", error(e));
            return;
        }
        ArrayNode outs = r.putArray("results");
        for (JsonNode name : c.get("records")) {
            ObjectNode o = outs.addObject();
            o.put("record", name.asText());
            ConnectRecord cur = buildRecord(name.asText());
            LoaderSwap swap = plugins().withClassLoader(plugins().delegatingLoader());
            for (TransformationStage stage : stages) {
                try {
                    cur = (ConnectRecord) stage.apply(cur);
                } catch (Exception e) {
                    o.set("error", error(e));
                    o.put("stage", stage.transformationStageInfo().transform().alias());
                    cur = null;
                    break;
                }
                if (cur == null) {
                    break;
                }
            }
            swap.close();
            if (o.has("error")) {
                continue;
            }
            if (cur == null) {
                o.put("dropped", true);
            } else {
                o.set("out", describeRecord(cur));
            }
        }
        for (TransformationStage stage : stages) {
            stage.close();
        }
    }

    /** Kafka Connect's validation of the transform and predicate keys. */
    static void runValidate(JsonNode c, ObjectNode r) {
        Map<String, String> props = connectorProps(c.get("validate"));
        ConfigDef def;
        Map<String, ConfigValue> values;
        try (LoaderSwap swap = plugins().withClassLoader(plugins().delegatingLoader())) {
            def = ConnectorConfig.enrich(plugins(), SinkConnectorConfig.configDef(), props, false);
            values = def.validateAll(props);
        } catch (Exception e) {
            r.set("validate_error", error(e));
            return;
        }
        ArrayNode configs = r.putArray("configs");
        for (ConfigDef.ConfigKey key : def.configKeys().values()) {
            if (!key.name.startsWith("transforms") && !key.name.startsWith("predicates")) {
                continue;
            }
            ObjectNode entry = configs.addObject();
            entry.set("definition", MAPPER.valueToTree(AbstractHerder.convertConfigKey(key)));
            ConfigValue v = values.get(key.name);
            ObjectNode value = entry.putObject("value");
            value.put("name", v.name());
            value.put("value", ConfigDef.convertToString(v.value(), key.type));
            ArrayNode rec = value.putArray("recommended_values");
            for (Object o : v.recommendedValues()) {
                rec.add(ConfigDef.convertToString(o, key.type == ConfigDef.Type.LIST ? ConfigDef.Type.STRING : key.type));
            }
            ArrayNode errs = value.putArray("errors");
            v.errorMessages().forEach(errs::add);
            value.put("visible", v.visible());
        }
        ArrayNode groups = r.putArray("groups");
        for (String g : def.groups()) {
            if (g.startsWith("Transforms") || g.startsWith("Predicates")) {
                groups.add(g);
            }
        }
    }

    /** The transformations and predicates Plugins finds, with their keys. */
    static ArrayNode describePlugins() {
        ArrayNode out = NODES.arrayNode();
        Set<PluginDesc<?>> all = new TreeSet<>();
        all.addAll(plugins().transformations());
        all.addAll(plugins().predicates());
        for (PluginDesc<?> desc : all) {
            ObjectNode p = out.addObject();
            p.put("class", desc.className());
            p.put("type", desc.type().toString());
            p.put("version", desc.version());
            ConfigDef def;
            try {
                Object plugin = desc.pluginClass().getDeclaredConstructor().newInstance();
                def = plugin instanceof Transformation
                    ? ((Transformation<?>) plugin).config()
                    : ((Predicate<?>) plugin).config();
            } catch (ReflectiveOperationException e) {
                throw new RuntimeException(e);
            }
            ArrayNode keys = p.putArray("config");
            for (ConfigDef.ConfigKey key : def.configKeys().values()) {
                keys.add(MAPPER.valueToTree(AbstractHerder.convertConfigKey(key)));
            }
        }
        return out;
    }

    /** An exception and its causes, outermost first. */
    static ObjectNode error(Throwable e) {
        ObjectNode n = NODES.objectNode();
        n.put("error", e.getMessage());
        n.put("class", e.getClass().getName());
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        if (root != e) {
            n.put("root", root.getMessage());
            n.put("root_class", root.getClass().getName());
        }
        return n;
    }

    // ---------------------------------------------------------------- records

    @SuppressWarnings("rawtypes")
    static ConnectRecord buildRecord(String name) {
        JsonNode d = spec.get("records").get(name);
        if (d == null) {
            throw new IllegalArgumentException("unknown record " + name);
        }
        Schema keySchema = buildSchema(d.get("key_schema"));
        Object key = buildValue(keySchema, d.get("key"));
        Schema valueSchema = buildSchema(d.get("value_schema"));
        Object value = buildValue(valueSchema, d.get("value"));
        Headers headers = new ConnectHeaders();
        if (d.has("headers")) {
            for (JsonNode h : d.get("headers")) {
                Schema s = buildSchema(h.get(1));
                headers.add(h.get(0).asText(), buildValue(s, h.get(2)), s);
            }
        }
        String topic = d.path("topic").asText("golden");
        Long ts = d.has("timestamp") && !d.get("timestamp").isNull() ? d.get("timestamp").asLong() : null;
        if (d.path("kind").asText("sink").equals("source")) {
            Integer partition = d.has("partition") && !d.get("partition").isNull() ? d.get("partition").asInt() : null;
            return new SourceRecord(Map.of("file", "golden"), Map.of("position", 7L), topic, partition,
                keySchema, key, valueSchema, value, ts, headers);
        }
        return new SinkRecord(topic, d.path("partition").asInt(0), keySchema, key, valueSchema, value,
            d.path("offset").asLong(0), ts, ts == null ? TimestampType.NO_TIMESTAMP_TYPE : TimestampType.CREATE_TIME, headers);
    }

    static ObjectNode describeRecord(ConnectRecord<?> r) {
        ObjectNode n = NODES.objectNode();
        n.put("topic", r.topic());
        if (r.kafkaPartition() == null) {
            n.putNull("partition");
        } else {
            n.put("partition", r.kafkaPartition());
        }
        if (r.timestamp() == null) {
            n.putNull("timestamp");
        } else {
            n.put("timestamp", r.timestamp());
        }
        if (r instanceof SinkRecord s) {
            n.put("offset", s.kafkaOffset());
        }
        n.set("key_schema", describeSchema(r.keySchema()));
        n.set("key", describe(r.keySchema(), r.key()));
        n.set("value_schema", describeSchema(r.valueSchema()));
        n.set("value", describe(r.valueSchema(), r.value()));
        ArrayNode hs = n.putArray("headers");
        for (Header h : r.headers()) {
            ArrayNode e = hs.addArray();
            e.add(h.key());
            e.add(describeSchema(h.schema()));
            e.add(describe(h.schema(), h.value()));
        }
        return n;
    }

    // ---------------------------------------------------------------- DSL

    static Schema buildSchema(JsonNode d) {
        if (d == null || d.isNull()) {
            return null;
        }
        if (d.has("ref")) {
            JsonNode named = spec.get("schemas").get(d.get("ref").asText());
            if (named == null) {
                throw new IllegalArgumentException("unknown schema " + d.get("ref"));
            }
            return buildSchema(named);
        }
        String type = d.get("type").asText();
        SchemaBuilder b = switch (type) {
            case "boolean" -> SchemaBuilder.bool();
            case "int8" -> SchemaBuilder.int8();
            case "int16" -> SchemaBuilder.int16();
            case "int32" -> SchemaBuilder.int32();
            case "int64" -> SchemaBuilder.int64();
            case "float32" -> SchemaBuilder.float32();
            case "float64" -> SchemaBuilder.float64();
            case "string" -> SchemaBuilder.string();
            case "bytes" -> SchemaBuilder.bytes();
            case "decimal" -> Decimal.builder(d.get("scale").asInt());
            case "date" -> Date.builder();
            case "time" -> Time.builder();
            case "timestamp" -> Timestamp.builder();
            case "array" -> SchemaBuilder.array(buildSchema(d.get("items")));
            case "map" -> SchemaBuilder.map(buildSchema(d.get("keys")), buildSchema(d.get("values")));
            case "struct" -> {
                SchemaBuilder s = SchemaBuilder.struct();
                for (JsonNode f : d.get("fields")) {
                    s.field(f.get(0).asText(), buildSchema(f.get(1)));
                }
                yield s;
            }
            default -> throw new IllegalArgumentException("unknown schema type " + type);
        };
        if (d.path("optional").asBoolean(false)) {
            b.optional();
        }
        if (d.has("name")) {
            b.name(d.get("name").asText());
        }
        if (d.has("version")) {
            b.version(d.get("version").asInt());
        }
        if (d.has("doc")) {
            b.doc(d.get("doc").asText());
        }
        if (d.has("params")) {
            d.get("params").properties().forEach(e -> b.parameter(e.getKey(), e.getValue().asText()));
        }
        if (d.has("default")) {
            b.defaultValue(buildValue(b, d.get("default")));
        }
        return b.build();
    }

    static Object buildValue(Schema schema, JsonNode d) {
        if (d == null || d.isNull()) {
            return null;
        }
        Map.Entry<String, JsonNode> e = d.properties().iterator().next();
        JsonNode v = e.getValue();
        return switch (e.getKey()) {
            case "boolean" -> v.booleanValue();
            case "int8" -> (byte) v.intValue();
            case "int16" -> (short) v.intValue();
            case "int32" -> v.intValue();
            case "int64" -> v.longValue();
            case "float32" -> Float.parseFloat(v.asText());
            case "float64" -> Double.parseDouble(v.asText());
            case "string" -> v.textValue();
            case "bytes" -> hex(v.asText());
            case "decimal" -> new BigDecimal(v.asText());
            case "date" -> new java.util.Date(v.longValue() * 86_400_000L);
            case "time", "timestamp" -> new java.util.Date(v.longValue());
            case "array" -> {
                List<Object> list = new ArrayList<>();
                for (JsonNode item : v) {
                    list.add(buildValue(schema == null ? null : schema.valueSchema(), item));
                }
                yield list;
            }
            case "map" -> {
                // A HashMap, as the JsonConverter produces.
                Map<Object, Object> map = new HashMap<>();
                for (JsonNode pair : v) {
                    map.put(buildValue(schema == null ? null : schema.keySchema(), pair.get(0)),
                            buildValue(schema == null ? null : schema.valueSchema(), pair.get(1)));
                }
                yield map;
            }
            case "struct" -> {
                // A struct default is built on the SchemaBuilder itself, the
                // only schema Java's default-value check accepts for it.
                Schema structSchema = d.has("schema") ? buildSchema(d.get("schema")) : schema;
                Struct s = new Struct(structSchema);
                v.properties().forEach(f ->
                    s.put(f.getKey(), buildValue(structSchema.field(f.getKey()).schema(), f.getValue())));
                yield s;
            }
            default -> throw new IllegalArgumentException("unknown value kind " + e.getKey());
        };
    }

    static JsonNode describeSchema(Schema s) {
        if (s == null) {
            return NODES.nullNode();
        }
        ObjectNode n = NODES.objectNode();
        n.put("type", s.type().getName());
        n.put("optional", s.isOptional());
        if (s.name() != null) {
            n.put("name", s.name());
        }
        if (s.version() != null) {
            n.put("version", s.version());
        }
        if (s.doc() != null) {
            n.put("doc", s.doc());
        }
        if (s.parameters() != null) {
            ObjectNode p = n.putObject("params");
            s.parameters().forEach(p::put);
        }
        if (s.defaultValue() != null) {
            n.set("default", describe(s, s.defaultValue()));
        }
        switch (s.type()) {
            case ARRAY -> n.set("items", describeSchema(s.valueSchema()));
            case MAP -> {
                n.set("keys", describeSchema(s.keySchema()));
                n.set("values", describeSchema(s.valueSchema()));
            }
            case STRUCT -> {
                ArrayNode fields = n.putArray("fields");
                for (Field f : s.fields()) {
                    ArrayNode pair = fields.addArray();
                    pair.add(f.name());
                    pair.add(describeSchema(f.schema()));
                }
            }
            default -> { }
        }
        return n;
    }

    /** A Connect value in the DSL; dates by their schema, else as timestamps. */
    static JsonNode describe(Schema schema, Object v) {
        if (v == null) {
            return NODES.nullNode();
        }
        ObjectNode n = NODES.objectNode();
        if (v instanceof Boolean b) {
            n.put("boolean", b);
        } else if (v instanceof Byte b) {
            n.put("int8", b);
        } else if (v instanceof Short s) {
            n.put("int16", s);
        } else if (v instanceof Integer i) {
            n.put("int32", i);
        } else if (v instanceof Long l) {
            n.put("int64", l);
        } else if (v instanceof Float f) {
            n.put("float32", Float.toString(f));
        } else if (v instanceof Double x) {
            n.put("float64", Double.toString(x));
        } else if (v instanceof String s) {
            n.put("string", s);
        } else if (v instanceof byte[] b) {
            n.put("bytes", hexString(b));
        } else if (v instanceof ByteBuffer b) {
            byte[] copy = new byte[b.remaining()];
            b.duplicate().get(copy);
            n.put("bytes", hexString(copy));
        } else if (v instanceof BigDecimal b) {
            n.put("decimal", b.toString());
        } else if (v instanceof java.util.Date date) {
            String name = schema == null ? null : schema.name();
            if (Date.LOGICAL_NAME.equals(name)) {
                n.put("date", Math.floorDiv(date.getTime(), 86_400_000L));
            } else if (Time.LOGICAL_NAME.equals(name)) {
                n.put("time", date.getTime());
            } else {
                n.put("timestamp", date.getTime());
            }
        } else if (v instanceof List<?> list) {
            ArrayNode items = n.putArray("array");
            for (Object item : list) {
                items.add(describe(schema == null ? null : schema.valueSchema(), item));
            }
        } else if (v instanceof Map<?, ?> map) {
            ArrayNode entries = n.putArray("map");
            for (Map.Entry<?, ?> e : map.entrySet()) {
                ArrayNode pair = entries.addArray();
                pair.add(describe(schema == null ? null : schema.keySchema(), e.getKey()));
                pair.add(describe(schema == null ? null : schema.valueSchema(), e.getValue()));
            }
        } else if (v instanceof Struct s) {
            ObjectNode fields = n.putObject("struct");
            for (Field f : s.schema().fields()) {
                fields.set(f.name(), describe(f.schema(), s.getWithoutDefault(f.name())));
            }
        } else {
            n.put("unknown", v.getClass().getName());
        }
        return n;
    }

    // ---------------------------------------------------------------- hex

    static byte[] hex(String s) {
        byte[] b = new byte[s.length() / 2];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
        }
        return b;
    }

    static String hexString(byte[] b) {
        StringBuilder sb = new StringBuilder();
        for (byte x : b) {
            sb.append(String.format("%02x", x));
        }
        return sb.toString();
    }
}
