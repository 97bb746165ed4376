// ERSVerify checks RFC 4998 evidence records with Bouncy Castle's
// org.bouncycastle.tsp.ers, an implementation independent of keiyaku. It is
// run by archive/ers's tests as a single-file source program:
//
//	java -cp bcprov.jar:bcutil.jar:bcpkix.jar ERSVerify.java at-unix-millis record data [record data ...]
//
// For each pair it prints one line, "OK <record>" or "FAIL <record>: <why>":
// the record must parse, its chains must be consistent (each renewal covers
// the previous timestamps), the data object must be present in the first
// archive timestamp of the last chain at the given time (with the
// earlier chains bound in, RFC 4998 §5.3), and the newest timestamp's
// signature must verify with the TSA certificate it carries.
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.Security;
import java.util.Date;

import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cms.jcajce.JcaSimpleSignerInfoVerifierBuilder;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.operator.DigestCalculatorProvider;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;
import org.bouncycastle.tsp.ers.ERSByteData;
import org.bouncycastle.tsp.ers.ERSEvidenceRecord;

public class ERSVerify {
    public static void main(String[] args) throws Exception {
        Security.addProvider(new BouncyCastleProvider());
        DigestCalculatorProvider digests = new JcaDigestCalculatorProviderBuilder().setProvider("BC").build();
        Date at = new java.util.Date(Long.parseLong(args[0]));
        for (int i = 1; i + 1 < args.length; i += 2) {
            String name = args[i];
            try {
                byte[] record = Files.readAllBytes(Path.of(args[i]));
                byte[] data = Files.readAllBytes(Path.of(args[i + 1]));
                ERSEvidenceRecord er = new ERSEvidenceRecord(record, digests);
                er.validatePresent(new ERSByteData(data), at);
                X509CertificateHolder tsa = er.getSigningCertificate();
                if (tsa == null) {
                    throw new Exception("the newest timestamp carries no TSA certificate");
                }
                er.validate(new JcaSimpleSignerInfoVerifierBuilder().setProvider("BC").build(tsa));
                System.out.println("OK " + name);
            } catch (Exception e) {
                System.out.println("FAIL " + name + ": " + e);
            }
        }
    }
}
