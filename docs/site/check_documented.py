"""Lists the public declarations Doxygen found without documentation.

Reads Doxygen's XML (EXTRACT_ALL, so undocumented symbols are in it): every
class, struct, enum and its values, function, variable, alias and member
reachable from the public headers needs a comment (a /// brief at least, and
@param for each named parameter of a function). Private members, deleted
functions and destructors need none; nothing else is let off. Run alone:
check_documented.py XML_DIR.
"""
import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def text(element):
    return "".join(element.itertext()).strip() if element is not None else ""


def described(node):
    return bool(text(node.find("briefdescription")) or text(node.find("detaileddescription")))


def documented_params(member):
    names = set()
    for item in member.iter("parameteritem"):
        for name in item.iter("parametername"):
            names.add(text(name))
    return names


def undocumented(xml_dir):
    problems = []
    seen = set()
    for path in sorted(Path(xml_dir).glob("*.xml")):
        if path.name in ("index.xml", "Doxyfile.xml"):
            continue
        root = ET.parse(path).getroot()
        for compound in root.iter("compounddef"):
            kind = compound.get("kind")
            if kind in ("class", "struct", "union"):
                location = compound.find("location").get("file", "")
                name = text(compound.find("compoundname"))
                if compound.get("prot") == "private":
                    continue
                if not described(compound) and name not in seen:
                    seen.add(name)
                    problems.append(f"{location}:{compound.find('location').get('line')}: {kind} {name}")
            if kind not in ("class", "struct", "union", "namespace", "file"):
                continue
            scope = text(compound.find("compoundname"))
            for member in compound.iter("memberdef"):
                if member.get("prot") == "private":
                    continue
                location = member.find("location")
                file = location.get("file", "")
                name = text(member.find("name"))
                mkind = member.get("kind")
                args = text(member.find("argsstring"))
                if "=delete" in args.replace(" ", "") or name.startswith("~") or mkind == "friend":
                    continue
                key = (file, location.get("line"), name)
                if key in seen:
                    continue
                seen.add(key)
                where = f"{file}:{location.get('line')}: {mkind} {scope}::{name}{args if mkind == 'function' else ''}"
                if not described(member):
                    problems.append(where)
                    continue
                if mkind == "function":
                    params = [text(p.find("declname")) for p in member.findall("param")]
                    missing = [p for p in params if p and p not in documented_params(member)]
                    if missing:
                        problems.append(f"{where}: no @param for {', '.join(missing)}")
                if mkind == "enum":
                    for value in member.findall("enumvalue"):
                        if not described(value):
                            problems.append(f"{file}:{location.get('line')}: enum value {scope}::{name}::"
                                            f"{text(value.find('name'))}")
    return problems


if __name__ == "__main__":
    found = undocumented(sys.argv[1])
    print("\n".join(found))
    sys.exit(1 if found else 0)
