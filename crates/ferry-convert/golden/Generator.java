// Generates the golden converter output from the real Kafka Connect jars.
//
//   java -Duser.timezone=UTC -cp "<kafka lib>/*" Generator.java <golden dir>
//
// Reads <golden dir>/cases.json (the language-neutral case list, see
// README.md), runs every case through Kafka Connect's JsonConverter,
// StringConverter or ByteArrayConverter, and writes what they produced to
// <golden dir>/expected.json. Also writes <golden dir>/floats.txt, a sweep
// of Double.toString / Float.toString results. Run it through generate.sh.

import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.kafka.common.utils.AppInfoParser;
import org.apache.kafka.connect.converters.ByteArrayConverter;
import org.apache.kafka.connect.data.Date;
import org.apache.kafka.connect.data.Decimal;
import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaAndValue;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.data.Time;
import org.apache.kafka.connect.data.Timestamp;
import org.apache.kafka.connect.json.JsonConverter;
import org.apache.kafka.connect.storage.Converter;
import org.apache.kafka.connect.storage.HeaderConverter;
import org.apache.kafka.connect.storage.StringConverter;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.math.BigDecimal;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

public class Generator {
    static final ObjectMapper MAPPER = new ObjectMapper();
    static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    static final String TOPIC = "golden";
    static final String HEADER_KEY = "golden-header";

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args.length > 0 ? args[0] : ".");
        JsonNode spec = MAPPER.readTree(dir.resolve("cases.json").toFile());

        ArrayNode results = NODES.arrayNode();
        for (JsonNode c : spec.get("cases")) {
            String converter = text(c, "converter", "json");
            JsonNode configNames = c.get("configs");
            if (configNames == null) {
                configNames = spec.get("default_configs").get(converter);
            }
            for (JsonNode configName : configNames) {
                try {
                    results.add(runCase(spec, c, converter, configName.asText()));
                } catch (RuntimeException e) {
                    throw new IllegalStateException("case " + c.get("name") + " cannot be built", e);
                }
            }
        }

        ObjectNode root = NODES.objectNode();
        root.put("generator", "crates/ferry-convert/golden/Generator.java");
        root.put("kafka", AppInfoParser.getVersion());
        root.put("jackson", com.fasterxml.jackson.databind.cfg.PackageVersion.VERSION.toString());
        root.put("java", System.getProperty("java.version"));
        root.set("results", results);
        DefaultPrettyPrinter pp = new DefaultPrettyPrinter();
        pp.indentArraysWith(DefaultIndenter.SYSTEM_LINEFEED_INSTANCE);
        String json = MAPPER.writer(pp).writeValueAsString(root) + "\n";
        Files.writeString(dir.resolve("expected.json"), json.replace("\r\n", "\n"));

        writeFloatSweep(spec.get("float_sweep"), dir.resolve("floats.txt"));
    }

    static String text(JsonNode n, String field, String dflt) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? dflt : v.asText();
    }

    static ObjectNode runCase(JsonNode spec, JsonNode c, String converterKind, String configName) throws IOException {
        ObjectNode r = NODES.objectNode();
        r.put("case", c.get("name").asText());
        r.put("config", configName);

        Map<String, Object> props = new HashMap<>();
        JsonNode config = spec.get("config_sets").get(configName);
        if (config == null) {
            throw new IllegalArgumentException("unknown config set " + configName);
        }
        config.properties().forEach(e -> props.put(e.getKey(), e.getValue().asText()));
        String role = text(c, "role", "value");
        // Header cases go through fromConnectHeader / toConnectHeader, what
        // a worker calls on its header.converter.
        boolean header = role.equals("header");

        Converter conv;
        try {
            conv = newConverter(converterKind, role, props);
        } catch (Exception e) {
            r.set("config_error", error(e));
            return r;
        }

        if (c.has("value")) {
            Schema schema = buildSchema(c.get("schema"));
            Object value = buildValue(schema, c.get("value"));
            byte[] out;
            try {
                out = header ? ((HeaderConverter) conv).fromConnectHeader(TOPIC, HEADER_KEY, schema, value)
                        : conv.fromConnectData(TOPIC, schema, value);
            } catch (Exception e) {
                r.set("encode", error(e));
                return r;
            }
            r.set("encode", bytesNode(out));
            if (out != null) {
                r.set("decode", decode(conv, out, header));
            }
        } else {
            byte[] input;
            if (c.has("decode")) {
                input = c.get("decode").asText().getBytes(StandardCharsets.UTF_8);
            } else if (c.has("decode_hex")) {
                input = hex(c.get("decode_hex").asText());
            } else if (c.has("decode_null")) {
                input = null;
            } else {
                throw new IllegalArgumentException("case " + c.get("name") + " has neither value nor decode");
            }
            r.set("decode", decode(conv, input, header));
        }
        return r;
    }

    static Converter newConverter(String kind, String role, Map<String, Object> props) {
        Converter conv = switch (kind) {
            case "json" -> new JsonConverter();
            case "string" -> new StringConverter();
            case "bytes" -> new ByteArrayConverter();
            default -> throw new IllegalArgumentException("unknown converter " + kind);
        };
        if (role.equals("header")) {
            Map<String, Object> p = new HashMap<>(props);
            p.put("converter.type", "header");
            // Header converters are configured through HeaderConverter.configure(Map).
            ((HeaderConverter) conv).configure(p);
        } else {
            conv.configure(props, role.equals("key"));
        }
        return conv;
    }

    /** toConnectData, then a description of the result and its re-encoding. */
    static ObjectNode decode(Converter conv, byte[] input, boolean header) {
        ObjectNode d = NODES.objectNode();
        SchemaAndValue sv;
        try {
            sv = header ? ((HeaderConverter) conv).toConnectHeader(TOPIC, HEADER_KEY, input)
                    : conv.toConnectData(TOPIC, input);
        } catch (Exception e) {
            return error(e);
        }
        d.put("schema", describeSchema(sv.schema()));
        d.set("value", describe(sv.schema(), sv.value()));
        try {
            d.set("reencode", bytesNode(header
                    ? ((HeaderConverter) conv).fromConnectHeader(TOPIC, HEADER_KEY, sv.schema(), sv.value())
                    : conv.fromConnectData(TOPIC, sv.schema(), sv.value())));
        } catch (Exception e) {
            d.set("reencode", error(e));
        }
        return d;
    }

    /**
     * A schema as a default JsonConverter's envelope writes it: through
     * Jackson's UTF-8 generator, as the converter does (the String-based
     * one escapes differently).
     */
    static String describeSchema(Schema schema) {
        if (schema == null) {
            return null;
        }
        JsonConverter describer = new JsonConverter();
        describer.configure(Map.of(), false);
        try {
            byte[] json = MAPPER.writeValueAsBytes(describer.asJsonSchema(schema));
            return new String(json, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    static ObjectNode error(Exception e) {
        ObjectNode n = NODES.objectNode();
        n.put("error", e.getMessage());
        n.put("class", e.getClass().getName());
        if (e.getCause() != null) {
            n.put("cause", String.valueOf(e.getCause().getMessage()));
        }
        return n;
    }

    /** Output bytes: as text when they are UTF-8, else as hex. */
    static ObjectNode bytesNode(byte[] b) {
        ObjectNode n = NODES.objectNode();
        if (b == null) {
            n.put("tombstone", true);
            return n;
        }
        try {
            String s = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(java.nio.ByteBuffer.wrap(b))
                .toString();
            n.put("out", s);
        } catch (CharacterCodingException e) {
            n.put("out_hex", hexString(b));
        }
        return n;
    }

    // ---------------------------------------------------------------- DSL

    static Schema buildSchema(JsonNode d) {
        if (d == null || d.isNull()) {
            return null;
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
                Map<Object, Object> map = new LinkedHashMap<>();
                for (JsonNode pair : v) {
                    map.put(buildValue(schema == null ? null : schema.keySchema(), pair.get(0)),
                            buildValue(schema == null ? null : schema.valueSchema(), pair.get(1)));
                }
                yield map;
            }
            case "struct" -> {
                // A struct outside any schema carries its own.
                Schema structSchema = d.has("schema") ? buildSchema(d.get("schema")) : schema.schema();
                Struct s = new Struct(structSchema);
                v.properties().forEach(f ->
                    s.put(f.getKey(), buildValue(structSchema.field(f.getKey()).schema(), f.getValue())));
                yield s;
            }
            default -> throw new IllegalArgumentException("unknown value kind " + e.getKey());
        };
    }

    /** The inverse of buildValue: a Connect value in the DSL. */
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

    // ---------------------------------------------------------------- floats

    /** Lines of "d|f <raw bits hex> <Java toString>". */
    static void writeFloatSweep(JsonNode spec, Path file) throws IOException {
        SplittableRandom r = new SplittableRandom(spec.get("seed").asLong());
        int count = spec.get("count").asInt();
        try (PrintWriter w = new PrintWriter(new BufferedWriter(Files.newBufferedWriter(file)))) {
            for (int i = 0; i < count; i++) {
                int kind = i % 6;
                double d = switch (kind) {
                    case 0 -> Double.longBitsToDouble(r.nextLong());
                    case 1 -> r.nextInt(2_000_000) / 100.0 * (r.nextBoolean() ? 1 : -1);
                    case 2 -> Math.pow(10, r.nextInt(600) - 300) * (1 + r.nextInt(1000));
                    case 3 -> r.nextDouble() * Math.pow(2, r.nextInt(200) - 100);
                    case 4 -> (double) r.nextLong();
                    default -> Double.longBitsToDouble(r.nextLong() & 0x000FFFFFFFFFFFFFL);
                };
                if (!Double.isNaN(d)) {
                    w.printf("d %016x %s%n", Double.doubleToRawLongBits(d), Double.toString(d));
                }
                float f = switch (kind) {
                    case 0 -> Float.intBitsToFloat(r.nextInt());
                    case 1 -> (float) (r.nextInt(2_000_000) / 100.0);
                    case 2 -> (float) (Math.pow(10, r.nextInt(80) - 40) * (1 + r.nextInt(1000)));
                    case 3 -> (float) d;
                    case 4 -> (float) r.nextInt();
                    default -> Float.intBitsToFloat(r.nextInt() & 0x007FFFFF);
                };
                if (!Float.isNaN(f)) {
                    w.printf("f %08x %s%n", Float.floatToRawIntBits(f), Float.toString(f));
                }
            }
        }
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
