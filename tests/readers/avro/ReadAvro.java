// Reads Avro object container files with Apache Avro's own reader and
// prints, per file, one JSON line: the codec, the schema as Avro's
// Schema.toString() writes it after parsing the file's, and the records
// as GenericData writes them. Run by ../avro-java.sh.
import java.io.File;

import org.apache.avro.Schema;
import org.apache.avro.file.DataFileReader;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericData;

public class ReadAvro {
  public static void main(String[] args) throws Exception {
    for (String path : args) {
      try (DataFileReader<Object> r = new DataFileReader<>(new File(path), new GenericDatumReader<>())) {
        Schema schema = r.getSchema();
        StringBuilder out = new StringBuilder();
        out.append("{\"file\":").append(quote(path));
        out.append(",\"codec\":").append(quote(r.getMetaString("avro.codec")));
        out.append(",\"header_schema\":").append(quote(r.getMetaString("avro.schema")));
        out.append(",\"reparsed_schema\":").append(quote(new Schema.Parser().parse(r.getMetaString("avro.schema")).toString()));
        out.append(",\"records\":[");
        boolean first = true;
        for (Object record : r) {
          if (!first) out.append(',');
          first = false;
          out.append(GenericData.get().toString(record));
        }
        out.append("]}");
        System.out.println(out);
      }
    }
  }

  private static String quote(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"': b.append("\\\""); break;
        case '\\': b.append("\\\\"); break;
        case '\n': b.append("\\n"); break;
        default:
          if (c < 0x20) b.append(String.format("\\u%04x", (int) c)); else b.append(c);
      }
    }
    return b.append('"').toString();
  }
}
