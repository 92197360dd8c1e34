//===- HostArray.cpp ------------------------------------------------------===//
#include "smq/Support/HostArray.h"

#include "smq/Support/ShapeSpec.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>

namespace smq {

namespace {
struct DTypeInfo {
  DType type;
  const char *descr; // NumPy's, little-endian
  const char *name;
  size_t size;
};

const DTypeInfo kTypes[] = {
    {DType::F16, "<f2", "float16", 2},  {DType::F32, "<f4", "float32", 4},
    {DType::F64, "<f8", "float64", 8},  {DType::Bool, "|b1", "bool", 1},
    {DType::I8, "|i1", "int8", 1},      {DType::I16, "<i2", "int16", 2},
    {DType::I32, "<i4", "int32", 4},    {DType::I64, "<i8", "int64", 8},
    {DType::U8, "|u1", "uint8", 1},     {DType::U16, "<u2", "uint16", 2},
    {DType::U32, "<u4", "uint32", 4},   {DType::U64, "<u8", "uint64", 8},
};

const DTypeInfo &info(DType t) {
  for (const auto &i : kTypes)
    if (i.type == t)
      return i;
  return kTypes[1];
}

float halfToFloat(uint16_t h) {
  uint32_t sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  float v;
  if (exp == 0)
    v = std::ldexp(static_cast<float>(mant), -24);
  else if (exp == 31)
    v = mant ? NAN : INFINITY;
  else
    v = std::ldexp(static_cast<float>(mant | 0x400), static_cast<int>(exp) - 25);
  return sign ? -v : v;
}
} // namespace

size_t dtypeSize(DType t) { return info(t).size; }
const char *dtypeName(DType t) { return info(t).name; }

int64_t HostArray::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

double HostArray::at(int64_t k) const {
  switch (dtype) {
  case DType::F16: return halfToFloat(data<uint16_t>()[k]);
  case DType::F32: return data<float>()[k];
  case DType::F64: return data<double>()[k];
  case DType::Bool: return data<uint8_t>()[k] != 0;
  case DType::I8: return data<int8_t>()[k];
  case DType::I16: return data<int16_t>()[k];
  case DType::I32: return data<int32_t>()[k];
  case DType::I64: return static_cast<double>(data<int64_t>()[k]);
  case DType::U8: return data<uint8_t>()[k];
  case DType::U16: return data<uint16_t>()[k];
  case DType::U32: return data<uint32_t>()[k];
  case DType::U64: return static_cast<double>(data<uint64_t>()[k]);
  }
  return 0;
}

std::optional<HostArray> readNpy(const std::string &path, std::string *why) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *why = "cannot open '" + path + "'";
    return std::nullopt;
  }
  std::string file((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  if (file.size() < 10 || file.compare(0, 6, "\x93NUMPY") != 0) {
    *why = "'" + path + "' is not a .npy file";
    return std::nullopt;
  }
  int major = static_cast<unsigned char>(file[6]);
  size_t headerLen, offset;
  if (major == 1) {
    headerLen = static_cast<unsigned char>(file[8]) |
                (static_cast<unsigned char>(file[9]) << 8);
    offset = 10;
  } else if ((major == 2 || major == 3) && file.size() >= 12) {
    uint32_t len;
    std::memcpy(&len, &file[8], 4);
    headerLen = len;
    offset = 12;
  } else {
    *why = "'" + path + "' has an unknown .npy version";
    return std::nullopt;
  }
  if (offset + headerLen > file.size()) {
    *why = "'" + path + "' is truncated";
    return std::nullopt;
  }
  std::string header = file.substr(offset, headerLen);
  std::smatch m;
  if (!std::regex_search(header, m, std::regex("'descr':\\s*'([^']+)'"))) {
    *why = "'" + path + "' has no dtype";
    return std::nullopt;
  }
  std::string descr = m[1];
  if (descr == "<b1")
    descr = "|b1";
  HostArray a;
  bool found = false;
  for (const auto &i : kTypes)
    if (descr == i.descr || (descr[0] == '=' && descr.substr(1) == i.descr + 1)) {
      a.dtype = i.type;
      found = true;
    }
  if (!found) {
    *why = "'" + path + "' has unsupported dtype " + descr;
    return std::nullopt;
  }
  if (std::regex_search(header, std::regex("'fortran_order':\\s*True"))) {
    *why = "'" + path + "' is in Fortran order";
    return std::nullopt;
  }
  if (!std::regex_search(header, m, std::regex("'shape':\\s*\\(([^)]*)\\)"))) {
    *why = "'" + path + "' has no shape";
    return std::nullopt;
  }
  std::stringstream dims(m[1].str());
  std::string tok;
  while (std::getline(dims, tok, ',')) {
    tok.erase(0, tok.find_first_not_of(" \t"));
    tok.erase(tok.find_last_not_of(" \tL") + 1);
    if (tok.empty())
      continue;
    if (tok.find_first_not_of("0123456789") != std::string::npos ||
        tok.size() > 15) {
      *why = "'" + path + "' has a bad dim '" + tok + "'";
      return std::nullopt;
    }
    a.shape.push_back(std::stoll(tok));
  }
  auto count = elementCount(a.shape);
  size_t dataOffset = offset + headerLen;
  if (!count ||
      static_cast<uint64_t>(*count) * dtypeSize(a.dtype) !=
          file.size() - dataOffset) {
    *why = "'" + path + "' holds " + std::to_string(file.size() - dataOffset) +
           " bytes of data, which does not match its shape and dtype";
    return std::nullopt;
  }
  a.bytes.assign(file.begin() + dataOffset, file.end());
  return a;
}

std::string npyBytes(const HostArray &a) {
  std::string shape = "(";
  for (size_t i = 0; i < a.shape.size(); ++i)
    shape += std::to_string(a.shape[i]) + (a.shape.size() == 1 ? "," : (i + 1 < a.shape.size() ? ", " : ""));
  shape += ")";
  std::string header = "{'descr': '" + std::string(info(a.dtype).descr) +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  out.append(a.bytes.data(), a.bytes.size());
  return out;
}

} // namespace smq
